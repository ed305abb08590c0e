//! The instruction loop. `execute` runs the top Lua frame, following Lua→Lua calls and
//! returns in place, and returns to `run` when the top frame becomes a native, when a budget
//! stops it, or with an error.
//!
//! **Fast paths read their operands in place.** An arm matches on the register or constant
//! itself (`if let Value::Table(tr) = reg!(b)`) and copies its operands into locals only on
//! the slow path, after the fast one failed (nothing has changed by then). A `Value` copied
//! into a local that the slow path also uses is kept by the compiler in a stack slot of this
//! large function, and the fast path then reads it back through a store: `t[i]` in a loop
//! took 2.6 times lua5.4's time that way, and 1.4 times reading in place (bench/README.md,
//! "Operands read in place").

use super::{window, Throw, Vm, MAX_TAG_LOOP};
use crate::bytecode::{Instruction, OpCode, MAXARG_C};
use crate::cost::Work;
use crate::heap::frame::{FrameKind, ReturnTo};
use crate::heap::table::Next;
use crate::metamethod::MetaMethod;
use crate::number::{self, ArithOp, FloatToInt, Number};
use crate::value::{TableRef, Value};

/// Where an operand came from, for error messages that name variables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operand {
    Register(u32),
    Upvalue(u32),
    Constant(u32),
    None,
}

/// Errors the loop raises with names resolved later by `debug`.
#[derive(Clone, Debug)]
pub(crate) enum OpError {
    Index {
        what: Operand,
        value: Value,
    },
    Len {
        what: Operand,
        value: Value,
    },
    Arith {
        a: Operand,
        b: Operand,
        av: Value,
        bv: Value,
        op: ArithOp,
    },
    Compare {
        a: Value,
        b: Value,
    },
    For(&'static str),
}

/// Integer-or-float arithmetic on register B and operand `$c` (a register or a constant);
/// on success the result goes to register A and the following MMBIN is skipped.
macro_rules! arith_fast {
    ($self:ident, $base:ident, $i:ident, $pc:ident, $c:expr, $int:expr, $flt:expr) => {{
        let b = *window::register(&mut $self.th.stack, $base + $i.b() as usize);
        let c = $c;
        let r = match (b, c) {
            (Value::Int(x), Value::Int(y)) => Some(Value::Int($int(x, y))),
            (Value::Float(x), Value::Float(y)) => Some(Value::Float($flt(x, y))),
            (Value::Int(x), Value::Float(y)) => Some(Value::Float($flt(x as f64, y))),
            (Value::Float(x), Value::Int(y)) => Some(Value::Float($flt(x, y as f64))),
            _ => None,
        };
        if let Some(v) = r {
            *window::register(&mut $self.th.stack, $base + $i.a() as usize) = v;
            $pc += 1;
        }
    }};
}

macro_rules! float_only {
    ($self:ident, $base:ident, $i:ident, $pc:ident, $c:expr, $flt:expr) => {{
        let b = *window::register(&mut $self.th.stack, $base + $i.b() as usize);
        let c = $c;
        let x = match b {
            Value::Int(x) => Some(x as f64),
            Value::Float(x) => Some(x),
            _ => None,
        };
        let y = match c {
            Value::Int(y) => Some(y as f64),
            Value::Float(y) => Some(y),
            _ => None,
        };
        if let (Some(x), Some(y)) = (x, y) {
            *window::register(&mut $self.th.stack, $base + $i.a() as usize) =
                Value::Float($flt(x, y));
            $pc += 1;
        }
    }};
}

macro_rules! bitwise {
    ($self:ident, $base:ident, $i:ident, $pc:ident, $c:expr, $op:expr) => {{
        let b = *window::register(&mut $self.th.stack, $base + $i.b() as usize);
        let c = $c;
        let x = match b {
            Value::Int(x) => Some(x),
            Value::Float(f) => number::float_to_int(f, FloatToInt::Exact),
            _ => None,
        };
        let y = match c {
            Value::Int(y) => Some(y),
            Value::Float(f) => number::float_to_int(f, FloatToInt::Exact),
            _ => None,
        };
        if let (Some(x), Some(y)) = (x, y) {
            *window::register(&mut $self.th.stack, $base + $i.a() as usize) = Value::Int($op(x, y));
            $pc += 1;
        }
    }};
}

fn idiv_f(a: f64, b: f64) -> f64 {
    number::float_idiv(a, b)
}

impl Vm {
    /// Runs Lua instructions from the top frame (`run_instructions`); an instruction refused
    /// memory is set back to run again (`rewind_for_memory`).
    pub(super) fn execute(&mut self) -> Result<(), Throw> {
        let result = self.run_instructions();
        if let Err(Throw::Memory(refused)) = result {
            self.rewind_for_memory(refused);
        }
        result
    }

    fn run_instructions(&mut self) -> Result<(), Throw> {
        // Set by the RETURN fast paths: the frame reloaded next is a Lua caller whose stack top
        // must go back to its frame top (what `post_call` does for fixed result counts).
        let mut fix_top = false;
        // The first frame entered was entered from `run`'s loop, which has just taken the
        // collector's step if one was due (and skips it where a slice merely ended, as an
        // uninterrupted run has no boundary there): only later entries look for finalizers.
        let mut entered = false;
        'frame: loop {
            // A finalizer that returned lets the next pending one start (in `run`, between
            // steps) before its caller goes on, as `collectgarbage()` runs them all in Lua.
            if entered && !self.heap.gc.to_finalize.is_empty() && !self.finalizer_running() {
                return Ok(());
            }
            entered = true;
            let Some(frame) = self.th.frames.last().copied() else {
                return Ok(());
            };
            let FrameKind::Lua(mut cl) = frame.kind else {
                // A native on top (just called, or returned to): its step is taken here when
                // `run`'s loop would take nothing else before it, nor after it (a collector
                // step, a trap, an error), saving the way out and back.
                if let FrameKind::Native(n) = frame.kind {
                    if self.loop_may_take_native_step()
                        && self.native_step(n, frame)
                        && self.loop_may_take_native_step()
                    {
                        continue 'frame;
                    }
                }
                return Ok(());
            };
            // The running frame: reloaded here, or set by CALL's fast path when it enters a
            // callee without leaving the instruction loop.
            let mut fi = self.th.frames.len() - 1;
            let closure = self.heap.closure(cl);
            let proto = self.heap.proto(closure.proto);
            let mut code = window::Code::of(&proto.code);
            let mut k = window::Constants::of(&proto.constants);
            let mut base = frame.base as usize;
            let mut pc = frame.pc as usize;
            if fix_top {
                self.th.top = base + proto.max_stack_size as usize;
                fix_top = false;
            }
            // What `window` relies on for the whole run of this frame (its module contract).
            if base + proto.max_stack_size as usize > self.th.stack.len() || pc >= code.len() {
                return Err(Throw::msg(
                    "inconsistent frame: registers or pc out of range",
                ));
            }

            // Also where the instruction's step began for `refuse_step`: every arm that may be
            // refused part way saves its pc first, before it charges anything beyond the unit
            // the loop took (so the fuel then is one below the step's start).
            macro_rules! savepc {
                () => {{
                    self.th.frames[fi].pc = pc as u32;
                    self.progress = self.progress.wrapping_add(1);
                    self.step_start = self.fuel + 1;
                }};
            }
            macro_rules! reg {
                ($n:expr) => {
                    *window::register(&mut self.th.stack, base + $n as usize)
                };
            }
            // An instruction's RK(C) operand: the constant C when k is set, else register C.
            macro_rules! rk_c {
                ($i:ident) => {
                    if $i.k() {
                        window::constant(k, $i.c() as usize)
                    } else {
                        reg!($i.c())
                    }
                };
            }
            // Pays for an instruction's variable work before the work is done. A refusal
            // (out of fuel) leaves the frame at the instruction itself, so it runs again from
            // the same state after a refuel; nothing may have changed before this point.
            macro_rules! rewind_if_refused {
                ($result:expr, $ipc:expr) => {
                    if matches!($result, Err(Throw::OutOfFuel)) && self.th.frames.len() == fi + 1 {
                        self.th.frames[fi].pc = $ipc as u32;
                        self.refuse_step(self.step_start);
                    }
                };
            }
            macro_rules! pay_or_rewind {
                ($charge:expr, $ipc:expr) => {{
                    let paid = $charge;
                    rewind_if_refused!(paid, $ipc);
                    paid?;
                }};
            }

            // One arm per comparison opcode, so that no arm reads the opcode again after the
            // dispatch (the loop then keeps no register for it). `$op` is the arm's own.
            macro_rules! compare {
                ($op:expr, $i:ident, $cmp:tt, $num:path) => {{
                    let fast = match (reg!($i.a()), reg!($i.b())) {
                        (Value::Int(x), Value::Int(y)) => Some(x $cmp y),
                        (a, b) => match (a.as_number(), b.as_number()) {
                            (Some(x), Some(y)) => Some($num(x, y)),
                            _ => None,
                        },
                    };
                    match fast {
                        Some(c) => cond_jump(&mut pc, code, c, $i.k()),
                        None => {
                            let a = reg!($i.a());
                            let b = reg!($i.b());
                            savepc!();
                            match self.order_instruction($op, a, b, $i.k())? {
                                Some(c) => cond_jump(&mut pc, code, c, $i.k()),
                                None => continue 'frame,
                            }
                        }
                    }
                }};
            }
            macro_rules! compare_immediate {
                ($op:expr, $i:ident, $cmp:tt) => {{
                    let imm = $i.sb() as i64;
                    let fast = match reg!($i.a()) {
                        Value::Int(x) => Some(x $cmp imm),
                        Value::Float(f) => Some(f $cmp imm as f64),
                        _ => None,
                    };
                    match fast {
                        Some(c) => cond_jump(&mut pc, code, c, $i.k()),
                        None => {
                            let a = reg!($i.a());
                            savepc!();
                            match self.order_immediate_instruction($op, a, $i)? {
                                Some(c) => cond_jump(&mut pc, code, c, $i.k()),
                                None => continue 'frame,
                            }
                        }
                    }
                }};
            }
            macro_rules! metamethod_binary {
                ($op:expr, $i:ident) => {{
                    savepc!();
                    let prev = code.get(pc.wrapping_sub(2));
                    match self.metamethod_binary_instruction($op, $i, prev, base, k)? {
                        Some((dest, v)) => reg!(dest) = v,
                        None => continue 'frame,
                    }
                }};
            }

            loop {
                if self.fuel <= 0 {
                    savepc!();
                    return Err(Throw::OutOfFuel);
                }
                self.fuel -= 1;
                let i = window::instruction(code, pc);
                pc += 1;
                let op = window::opcode(i);
                match op {
                    OpCode::Move => reg!(i.a()) = reg!(i.b()),
                    OpCode::LoadI => reg!(i.a()) = Value::Int(i.sbx() as i64),
                    OpCode::LoadF => reg!(i.a()) = Value::Float(i.sbx() as f64),
                    OpCode::LoadK => reg!(i.a()) = window::constant(k, i.bx() as usize),
                    OpCode::LoadKX => {
                        let ax = window::instruction(code, pc).ax_arg();
                        pc += 1;
                        reg!(i.a()) = window::constant(k, ax as usize);
                    }
                    OpCode::LoadFalse => reg!(i.a()) = Value::Bool(false),
                    OpCode::LFalseSkip => {
                        reg!(i.a()) = Value::Bool(false);
                        pc += 1;
                    }
                    OpCode::LoadTrue => reg!(i.a()) = Value::Bool(true),
                    OpCode::LoadNil => {
                        let a = i.a() as usize;
                        for r in a..=a + i.b() as usize {
                            reg!(r) = Value::Nil;
                        }
                    }
                    OpCode::GetUpval => {
                        let u = self.heap.closure(cl).upvalues[i.b() as usize];
                        reg!(i.a()) = self.upval_get(u);
                    }
                    OpCode::SetUpval => {
                        let u = self.heap.closure(cl).upvalues[i.b() as usize];
                        let v = reg!(i.a());
                        self.upval_set(u, v);
                    }
                    OpCode::GetTabUp => {
                        let u = self.heap.closure(cl).upvalues[i.b() as usize];
                        if let (Value::Table(tr), Value::Str(s)) =
                            (self.upval_get(u), window::constant(k, i.c() as usize))
                        {
                            if let Some(table) = self.heap.tables.find(tr.0) {
                                let v = table.get_str_hinted(s, &self.heap.field_hints);
                                if !v.is_nil() {
                                    reg!(i.a()) = v;
                                    continue;
                                }
                            }
                        }
                        let t = self.upval_get(u);
                        let key = window::constant(k, i.c() as usize);
                        savepc!();
                        match self.index_slow(t, key, i.a(), Operand::Upvalue(i.b()))? {
                            Some(v) => reg!(i.a()) = v,
                            None => continue 'frame,
                        }
                    }
                    OpCode::GetTable => {
                        if let Value::Table(tr) = reg!(i.b()) {
                            if let Some(table) = self.heap.tables.find(tr.0) {
                                // An integer key inline (arrays); the rest through `get`.
                                let v = match reg!(i.c()) {
                                    Value::Int(n) => table.get_int(n),
                                    key => table.get(key),
                                };
                                if !v.is_nil() {
                                    reg!(i.a()) = v;
                                    continue;
                                }
                            }
                        }
                        let t = reg!(i.b());
                        let key = reg!(i.c());
                        savepc!();
                        match self.index_slow(t, key, i.a(), Operand::Register(i.b()))? {
                            Some(v) => reg!(i.a()) = v,
                            None => continue 'frame,
                        }
                    }
                    OpCode::GetI => {
                        if let Value::Table(tr) = reg!(i.b()) {
                            if let Some(table) = self.heap.tables.find(tr.0) {
                                let v = table.get_int(i.c() as i64);
                                if !v.is_nil() {
                                    reg!(i.a()) = v;
                                    continue;
                                }
                            }
                        }
                        let t = reg!(i.b());
                        let key = Value::Int(i.c() as i64);
                        savepc!();
                        match self.index_slow(t, key, i.a(), Operand::Register(i.b()))? {
                            Some(v) => reg!(i.a()) = v,
                            None => continue 'frame,
                        }
                    }
                    OpCode::GetField => {
                        if let (Value::Table(tr), Value::Str(s)) =
                            (reg!(i.b()), window::constant(k, i.c() as usize))
                        {
                            if let Some(table) = self.heap.tables.find(tr.0) {
                                let v = table.get_str_hinted(s, &self.heap.field_hints);
                                if !v.is_nil() {
                                    reg!(i.a()) = v;
                                    continue;
                                }
                            }
                        }
                        let t = reg!(i.b());
                        let key = window::constant(k, i.c() as usize);
                        savepc!();
                        match self.index_slow(t, key, i.a(), Operand::Register(i.b()))? {
                            Some(v) => reg!(i.a()) = v,
                            None => continue 'frame,
                        }
                    }
                    OpCode::SetTabUp => {
                        let u = self.heap.closure(cl).upvalues[i.a() as usize];
                        let t = self.upval_get(u);
                        let key = window::constant(k, i.b() as usize);
                        let v = rk_c!(i);
                        savepc!();
                        if !self.newindex(t, key, v, Operand::Upvalue(i.a()))? {
                            continue 'frame;
                        }
                    }
                    OpCode::SetTable => {
                        // A table of the library image takes the general path, which makes it
                        // the process's own first (`Heap::own_table`).
                        if let Value::Table(tr) = reg!(i.a()) {
                            let v = rk_c!(i);
                            if let Some(table) = self.heap.tables.slot_mut(tr.0) {
                                let done = match reg!(i.b()) {
                                    Value::Int(n) => table.set_int_present(n, v),
                                    Value::Str(s) => table.set_str_present(s, v),
                                    _ => false,
                                };
                                if done {
                                    continue;
                                }
                                if table.metatable.is_none() {
                                    let key = reg!(i.b());
                                    savepc!();
                                    self.raw_set_in_instruction(tr, key, v, true)?;
                                    continue;
                                }
                            }
                        }
                        let t = reg!(i.a());
                        let key = reg!(i.b());
                        let v = rk_c!(i);
                        savepc!();
                        if !self.newindex(t, key, v, Operand::Register(i.a()))? {
                            continue 'frame;
                        }
                    }
                    OpCode::SetI => {
                        if let Value::Table(tr) = reg!(i.a()) {
                            let v = rk_c!(i);
                            if let Some(table) = self.heap.tables.slot_mut(tr.0) {
                                let idx = i.b() as i64;
                                if table.set_int_present(idx, v) {
                                    continue;
                                }
                                if table.metatable.is_none() {
                                    savepc!();
                                    self.raw_set_in_instruction(tr, Value::Int(idx), v, true)?;
                                    continue;
                                }
                            }
                        }
                        let t = reg!(i.a());
                        let v = rk_c!(i);
                        savepc!();
                        if !self.newindex(
                            t,
                            Value::Int(i.b() as i64),
                            v,
                            Operand::Register(i.a()),
                        )? {
                            continue 'frame;
                        }
                    }
                    OpCode::SetField => {
                        if let Value::Table(tr) = reg!(i.a()) {
                            if let Value::Str(s) = window::constant(k, i.b() as usize) {
                                let heap = &mut self.heap;
                                if let Some(table) = heap.tables.slot_mut(tr.0) {
                                    if let Some(slot) =
                                        table.present_str_slot_hinted(s, &heap.field_hints)
                                    {
                                        *slot = rk_c!(i);
                                        continue;
                                    }
                                    if table.metatable.is_none() {
                                        let v = rk_c!(i);
                                        savepc!();
                                        self.raw_set_in_instruction(tr, Value::Str(s), v, true)?;
                                        continue;
                                    }
                                }
                            }
                        }
                        let t = reg!(i.a());
                        let key = window::constant(k, i.b() as usize);
                        let v = rk_c!(i);
                        savepc!();
                        if !self.newindex(t, key, v, Operand::Register(i.a()))? {
                            continue 'frame;
                        }
                    }
                    OpCode::NewTable => {
                        let mut hash = i.b() as usize;
                        if hash > 0 {
                            hash = 1usize << (hash - 1).min(30);
                        }
                        let mut array = i.c() as usize;
                        if i.k() {
                            array += window::instruction(code, pc).ax_arg() as usize
                                * (MAXARG_C as usize + 1);
                        }
                        pc += 1;
                        savepc!();
                        // NEWTABLE is followed by its EXTRAARG: the instruction is two back.
                        pay_or_rewind!(self.charge_work(Work::Entries, array + hash), pc - 2);
                        let t = self.heap.new_table(array, hash)?;
                        reg!(i.a()) = Value::Table(t);
                        if self.heap.gc.should_collect() {
                            return Ok(());
                        }
                    }
                    OpCode::SelfOp => {
                        let t = reg!(i.b());
                        let key = rk_c!(i);
                        reg!(i.a() + 1) = t;
                        if let (Value::Table(tr), Value::Str(s)) = (t, key) {
                            if let Some(table) = self.heap.tables.find(tr.0) {
                                let v = table.get_str(s);
                                if !v.is_nil() {
                                    reg!(i.a()) = v;
                                    continue;
                                }
                            }
                        }
                        savepc!();
                        match self.index_slow(t, key, i.a(), Operand::Register(i.b()))? {
                            Some(v) => reg!(i.a()) = v,
                            None => continue 'frame,
                        }
                    }
                    OpCode::AddI => {
                        let b = reg!(i.b());
                        let imm = i.sc() as i64;
                        match b {
                            Value::Int(x) => {
                                reg!(i.a()) = Value::Int(x.wrapping_add(imm));
                                pc += 1;
                            }
                            Value::Float(x) => {
                                reg!(i.a()) = Value::Float(x + imm as f64);
                                pc += 1;
                            }
                            _ => {}
                        }
                    }
                    OpCode::AddK => {
                        arith_fast!(
                            self,
                            base,
                            i,
                            pc,
                            window::constant(k, i.c() as usize),
                            i64::wrapping_add,
                            |a: f64, b: f64| a + b
                        )
                    }
                    OpCode::SubK => {
                        arith_fast!(
                            self,
                            base,
                            i,
                            pc,
                            window::constant(k, i.c() as usize),
                            i64::wrapping_sub,
                            |a: f64, b: f64| a - b
                        )
                    }
                    OpCode::MulK => {
                        arith_fast!(
                            self,
                            base,
                            i,
                            pc,
                            window::constant(k, i.c() as usize),
                            i64::wrapping_mul,
                            |a: f64, b: f64| a * b
                        )
                    }
                    OpCode::ModK => {
                        let b = reg!(i.b());
                        let c = window::constant(k, i.c() as usize);
                        match (b, c) {
                            (Value::Int(x), Value::Int(y)) => {
                                if y == 0 {
                                    savepc!();
                                    return Err(Throw::msg("attempt to perform 'n%0'"));
                                }
                                reg!(i.a()) = Value::Int(number::int_mod(x, y).unwrap_or(0));
                                pc += 1;
                            }
                            _ => float_only!(self, base, i, pc, c, number::float_mod),
                        }
                    }
                    OpCode::PowK => {
                        float_only!(
                            self,
                            base,
                            i,
                            pc,
                            window::constant(k, i.c() as usize),
                            number::float_pow
                        )
                    }
                    OpCode::DivK => {
                        float_only!(
                            self,
                            base,
                            i,
                            pc,
                            window::constant(k, i.c() as usize),
                            |a: f64, b: f64| a / b
                        )
                    }
                    OpCode::IDivK => {
                        let b = reg!(i.b());
                        let c = window::constant(k, i.c() as usize);
                        match (b, c) {
                            (Value::Int(x), Value::Int(y)) => {
                                if y == 0 {
                                    savepc!();
                                    return Err(Throw::msg("attempt to divide by zero"));
                                }
                                reg!(i.a()) = Value::Int(number::int_idiv(x, y).unwrap_or(0));
                                pc += 1;
                            }
                            _ => float_only!(self, base, i, pc, c, idiv_f),
                        }
                    }
                    OpCode::BAndK => {
                        bitwise!(
                            self,
                            base,
                            i,
                            pc,
                            window::constant(k, i.c() as usize),
                            |x: i64, y: i64| x & y
                        )
                    }
                    OpCode::BOrK => {
                        bitwise!(
                            self,
                            base,
                            i,
                            pc,
                            window::constant(k, i.c() as usize),
                            |x: i64, y: i64| x | y
                        )
                    }
                    OpCode::BXorK => {
                        bitwise!(
                            self,
                            base,
                            i,
                            pc,
                            window::constant(k, i.c() as usize),
                            |x: i64, y: i64| x ^ y
                        )
                    }
                    OpCode::ShrI => {
                        let b = reg!(i.b());
                        let x = match b {
                            Value::Int(x) => Some(x),
                            Value::Float(f) => number::float_to_int(f, FloatToInt::Exact),
                            _ => None,
                        };
                        if let Some(x) = x {
                            reg!(i.a()) = Value::Int(number::shift_left(x, -(i.sc() as i64)));
                            pc += 1;
                        }
                    }
                    OpCode::ShlI => {
                        // sC << R[B]
                        let b = reg!(i.b());
                        let x = match b {
                            Value::Int(x) => Some(x),
                            Value::Float(f) => number::float_to_int(f, FloatToInt::Exact),
                            _ => None,
                        };
                        if let Some(x) = x {
                            reg!(i.a()) = Value::Int(number::shift_left(i.sc() as i64, x));
                            pc += 1;
                        }
                    }
                    OpCode::Add => {
                        arith_fast!(
                            self,
                            base,
                            i,
                            pc,
                            *window::register(&mut self.th.stack, base + i.c() as usize),
                            i64::wrapping_add,
                            |a: f64, b: f64| a + b
                        )
                    }
                    OpCode::Sub => {
                        arith_fast!(
                            self,
                            base,
                            i,
                            pc,
                            *window::register(&mut self.th.stack, base + i.c() as usize),
                            i64::wrapping_sub,
                            |a: f64, b: f64| a - b
                        )
                    }
                    OpCode::Mul => {
                        arith_fast!(
                            self,
                            base,
                            i,
                            pc,
                            *window::register(&mut self.th.stack, base + i.c() as usize),
                            i64::wrapping_mul,
                            |a: f64, b: f64| a * b
                        )
                    }
                    OpCode::Mod => {
                        let b = reg!(i.b());
                        let c = reg!(i.c());
                        match (b, c) {
                            (Value::Int(x), Value::Int(y)) => {
                                if y == 0 {
                                    savepc!();
                                    return Err(Throw::msg("attempt to perform 'n%0'"));
                                }
                                reg!(i.a()) = Value::Int(number::int_mod(x, y).unwrap_or(0));
                                pc += 1;
                            }
                            _ => float_only!(self, base, i, pc, c, number::float_mod),
                        }
                    }
                    OpCode::Pow => float_only!(self, base, i, pc, reg!(i.c()), number::float_pow),
                    OpCode::Div => {
                        float_only!(self, base, i, pc, reg!(i.c()), |a: f64, b: f64| a / b)
                    }
                    OpCode::IDiv => {
                        let b = reg!(i.b());
                        let c = reg!(i.c());
                        match (b, c) {
                            (Value::Int(x), Value::Int(y)) => {
                                if y == 0 {
                                    savepc!();
                                    return Err(Throw::msg("attempt to divide by zero"));
                                }
                                reg!(i.a()) = Value::Int(number::int_idiv(x, y).unwrap_or(0));
                                pc += 1;
                            }
                            _ => float_only!(self, base, i, pc, c, idiv_f),
                        }
                    }
                    OpCode::BAnd => {
                        bitwise!(self, base, i, pc, reg!(i.c()), |x: i64, y: i64| x & y)
                    }
                    OpCode::BOr => bitwise!(self, base, i, pc, reg!(i.c()), |x: i64, y: i64| x | y),
                    OpCode::BXor => {
                        bitwise!(self, base, i, pc, reg!(i.c()), |x: i64, y: i64| x ^ y)
                    }
                    OpCode::Shl => bitwise!(self, base, i, pc, reg!(i.c()), number::shift_left),
                    OpCode::Shr => bitwise!(self, base, i, pc, reg!(i.c()), |x: i64, y: i64| {
                        number::shift_left(x, y.wrapping_neg())
                    }),
                    OpCode::MmBin => metamethod_binary!(OpCode::MmBin, i),
                    OpCode::MmBinI => metamethod_binary!(OpCode::MmBinI, i),
                    OpCode::MmBinK => metamethod_binary!(OpCode::MmBinK, i),
                    OpCode::Unm => {
                        let b = reg!(i.b());
                        match b {
                            Value::Int(x) => reg!(i.a()) = Value::Int(x.wrapping_neg()),
                            Value::Float(x) => reg!(i.a()) = Value::Float(-x),
                            _ => {
                                savepc!();
                                let bo = Operand::Register(i.b());
                                match self.arith_slow(MetaMethod::Unm, b, b, bo, bo, i.a())? {
                                    Some(v) => reg!(i.a()) = v,
                                    None => continue 'frame,
                                }
                            }
                        }
                    }
                    OpCode::BNot => {
                        let b = reg!(i.b());
                        match b {
                            Value::Int(x) => reg!(i.a()) = Value::Int(!x),
                            _ => {
                                savepc!();
                                let bo = Operand::Register(i.b());
                                match self.arith_slow(MetaMethod::BNot, b, b, bo, bo, i.a())? {
                                    Some(v) => reg!(i.a()) = v,
                                    None => continue 'frame,
                                }
                            }
                        }
                    }
                    OpCode::Not => reg!(i.a()) = Value::Bool(!reg!(i.b()).truthy()),
                    OpCode::Len => {
                        let b = reg!(i.b());
                        savepc!();
                        let len = self.len_slow(b, i.a(), Operand::Register(i.b()));
                        rewind_if_refused!(len, pc - 1);
                        match len? {
                            Some(v) => reg!(i.a()) = v,
                            None => continue 'frame,
                        }
                    }
                    OpCode::Concat => {
                        let a = i.a();
                        savepc!();
                        match self.concat_instruction(fi, base, a as u8, i.b() as usize)? {
                            Some(v) => reg!(a) = v,
                            None => continue 'frame,
                        }
                        if self.heap.gc.should_collect() {
                            return Ok(());
                        }
                    }
                    OpCode::Close => {
                        savepc!();
                        let top = self.th.top;
                        if self.close_level(base + i.a() as usize, top)? {
                            continue 'frame;
                        }
                    }
                    OpCode::Tbc => {
                        savepc!();
                        self.mark_tbc(base + i.a() as usize)?;
                    }
                    OpCode::Jmp => {
                        pc = (pc as i64 + i.sj_arg() as i64) as usize;
                    }
                    OpCode::Eq => {
                        let a = reg!(i.a());
                        let b = reg!(i.b());
                        savepc!();
                        match self.equals(a, b)? {
                            Some(c) => cond_jump(&mut pc, code, c, i.k()),
                            None => continue 'frame,
                        }
                    }
                    OpCode::Lt => compare!(OpCode::Lt, i, <, number::num_lt),
                    OpCode::Le => compare!(OpCode::Le, i, <=, number::num_le),
                    OpCode::EqK => {
                        let c = reg!(i.a()).raw_eq(window::constant(k, i.b() as usize));
                        cond_jump(&mut pc, code, c, i.k());
                    }
                    OpCode::EqI => {
                        let imm = i.sb() as i64;
                        let c = match reg!(i.a()) {
                            Value::Int(x) => x == imm,
                            Value::Float(f) => f == imm as f64,
                            _ => false,
                        };
                        cond_jump(&mut pc, code, c, i.k());
                    }
                    OpCode::LtI => compare_immediate!(OpCode::LtI, i, <),
                    OpCode::LeI => compare_immediate!(OpCode::LeI, i, <=),
                    OpCode::GtI => compare_immediate!(OpCode::GtI, i, >),
                    OpCode::GeI => compare_immediate!(OpCode::GeI, i, >=),
                    OpCode::Test => {
                        let c = reg!(i.a()).truthy();
                        cond_jump(&mut pc, code, c, i.k());
                    }
                    OpCode::TestSet => {
                        let v = reg!(i.b());
                        if v.truthy() == i.k() {
                            reg!(i.a()) = v;
                            let j = window::instruction(code, pc);
                            pc = (pc as i64 + j.sj_arg() as i64 + 1) as usize;
                        } else {
                            pc += 1;
                        }
                    }
                    OpCode::Call => {
                        let a = base + i.a() as usize;
                        let b = i.b() as usize;
                        if b != 0 {
                            self.th.top = a + b;
                        }
                        let nresults = i.c() as i32 - 1;
                        // `savepc!` but for the step's start, which only the slow paths below
                        // (that may be refused) need.
                        self.th.frames[fi].pc = pc as u32;
                        self.progress = self.progress.wrapping_add(1);
                        if let Value::LuaFn(callee) = self.th.stack[a] {
                            // Fast path: a fixed-parameter function whose registers fit the
                            // stack and whose frame fits the frame vector's capacity.
                            let callee_proto = self.heap.closure(callee).proto;
                            let p = self.heap.proto(callee_proto);
                            let np = p.num_params as usize;
                            let ms = p.max_stack_size as usize;
                            let nb = a + 1;
                            let nframes = self.th.frames.len();
                            if !p.is_vararg
                                && nb + ms + super::EXTRA_STACK <= self.th.stack.len()
                                && nframes < self.th.frames.capacity()
                                && nframes < self.fast_frames_limit
                            {
                                let callee_code = window::Code::of(&p.code);
                                let callee_k = window::Constants::of(&p.constants);
                                let nargs = self.th.top - nb;
                                // Missing parameters are nil; the registers above them are
                                // written before they are read, as in Lua (`enter_lua`).
                                if nargs < np {
                                    for v in &mut self.th.stack[nb + nargs..nb + np] {
                                        *v = Value::Nil;
                                    }
                                }
                                self.th.top = nb + ms;
                                let callee_frame = crate::heap::frame::Frame {
                                    kind: FrameKind::Lua(callee),
                                    func: a as u32,
                                    base: nb as u32,
                                    pc: 0,
                                    nresults,
                                    varargs: 0,
                                    ret: ReturnTo::Normal,
                                    flags: crate::heap::frame::flags::below(
                                        self.th.frames[fi].flags,
                                    ),
                                    c_depth: self.th.frames[fi].c_depth,
                                };
                                self.th.frames.push(callee_frame);
                                // Enter the callee here. What the frame entry would check
                                // holds: its registers fit (`nb + ms` above) and its verified
                                // code is not empty, so pc 0 is an instruction.
                                debug_assert!(callee_code.len() > 0);
                                fi = nframes;
                                cl = callee;
                                code = callee_code;
                                k = callee_k;
                                base = nb;
                                pc = 0;
                                continue;
                            }
                            self.step_start = self.fuel + 1;
                            self.enter_lua(a, callee, nresults, ReturnTo::Normal)?;
                        } else {
                            self.step_start = self.fuel + 1;
                            self.call_from_instruction(a, nresults)?;
                        }
                        continue 'frame;
                    }
                    OpCode::TailCall => {
                        let a = base + i.a() as usize;
                        let b = i.b() as usize;
                        if b != 0 {
                            self.th.top = a + b;
                        }
                        savepc!();
                        // Resolve `__call` here, while this frame still names the callee
                        // in errors.
                        let mut callee = self.th.stack[a];
                        if !callee.is_function() {
                            callee = self.tail_callee_through_call(a)?;
                        }
                        if let Value::Native(_) = callee {
                            // As in Lua, a native called in tail position runs above this frame
                            // (so it sees its caller); the RETURN that follows passes its results on.
                            self.call_value(a, -1, ReturnTo::Normal)?;
                            continue 'frame;
                        }
                        self.close_upvals(base);
                        // Move the function and its arguments down to this frame's slot.
                        let dest = self.th.frames[fi].func as usize;
                        let n = self.th.top - a;
                        self.th.stack.copy_within(a..a + n, dest);
                        self.th.top = dest + n;
                        let Some(old) = self.th.frames.pop() else {
                            return Ok(());
                        };
                        self.call_value(dest, old.nresults, old.ret)?;
                        if let Some(f) = self.th.frames.last_mut() {
                            use crate::heap::frame::flags;
                            // The callee takes the place of the frame it replaces: its count
                            // of calls from C (an `xpcall` handler that errors in a tail call
                            // nests deeper each time, as Lua's `nCcalls` does) and whether it
                            // is a finalizer (which no other finalizer may start above).
                            f.c_depth = old.c_depth;
                            f.flags |= flags::TAIL | (old.flags & flags::FINALIZER);
                        }
                        continue 'frame;
                    }
                    OpCode::Return => {
                        let a = base + i.a() as usize;
                        let n = if i.b() != 0 {
                            i.b() as usize - 1
                        } else {
                            self.th.top - a
                        };
                        savepc!();
                        if n > 8 {
                            // Moving many results (a `return f()` of many values) is paid per
                            // value; a few ride on the instruction's price.
                            pay_or_rewind!(self.charge_work(Work::Values, n), pc - 1);
                        }
                        if i.k() {
                            // A pending `__close` runs first; this RETURN then runs again.
                            self.th.top = a + n;
                            if self.close_level(base, a + n)? {
                                continue 'frame;
                            }
                        }
                        self.return_results(a, n)?;
                        continue 'frame;
                    }
                    OpCode::Return0 => {
                        savepc!();
                        self.return_results(base, 0)?;
                        continue 'frame;
                    }
                    OpCode::Return1 => {
                        let frame = self.th.frames[fi];
                        if frame.ret == ReturnTo::Normal && fi > 0 && frame.nresults <= 1 {
                            let res = frame.func as usize;
                            if frame.nresults != 0 {
                                self.th.stack[res] = reg!(i.a());
                            }
                            self.th.frames.pop();
                            // A Lua caller is taken up here, as CALL's fast path enters a
                            // callee, when the frame reload would find nothing else to do (no
                            // finalizer waiting) and what `window` relies on holds.
                            let caller = self.th.frames[fi - 1];
                            if let FrameKind::Lua(caller_cl) = caller.kind {
                                let p = self.heap.proto(self.heap.closure(caller_cl).proto);
                                let caller_base = caller.base as usize;
                                let frame_top = caller_base + p.max_stack_size as usize;
                                let caller_code = window::Code::of(&p.code);
                                if self.heap.gc.to_finalize.is_empty()
                                    && frame_top <= self.th.stack.len()
                                    && (caller.pc as usize) < caller_code.len()
                                {
                                    self.th.top = if frame.nresults < 0 {
                                        res + 1
                                    } else {
                                        frame_top
                                    };
                                    k = window::Constants::of(&p.constants);
                                    code = caller_code;
                                    cl = caller_cl;
                                    base = caller_base;
                                    pc = caller.pc as usize;
                                    fi -= 1;
                                    continue;
                                }
                            }
                            if frame.nresults < 0 {
                                self.th.top = res + 1;
                            } else {
                                // nresults 0 or 1: the caller's frame top comes back. A native
                                // caller keeps the top just above the results.
                                self.th.top = res + frame.nresults as usize;
                                fix_top = matches!(self.th.frames[fi - 1].kind, FrameKind::Lua(_));
                            }
                            continue 'frame;
                        }
                        savepc!();
                        self.return_results(base + i.a() as usize, 1)?;
                        continue 'frame;
                    }
                    OpCode::ForLoop => {
                        let a = i.a() as usize;
                        match reg!(a + 2) {
                            Value::Int(step) => {
                                let count = match reg!(a + 1) {
                                    Value::Int(c) => c as u64,
                                    _ => 0,
                                };
                                if count > 0 {
                                    reg!(a + 1) = Value::Int((count - 1) as i64);
                                    let idx = match reg!(a) {
                                        Value::Int(x) => x.wrapping_add(step),
                                        _ => 0,
                                    };
                                    reg!(a) = Value::Int(idx);
                                    reg!(a + 3) = Value::Int(idx);
                                    pc -= i.bx() as usize;
                                }
                            }
                            Value::Float(step) => {
                                let limit = match reg!(a + 1) {
                                    Value::Float(l) => l,
                                    _ => 0.0,
                                };
                                let idx = match reg!(a) {
                                    Value::Float(x) => x + step,
                                    _ => 0.0,
                                };
                                let go = if step > 0.0 {
                                    idx <= limit
                                } else {
                                    limit <= idx
                                };
                                if go {
                                    reg!(a) = Value::Float(idx);
                                    reg!(a + 3) = Value::Float(idx);
                                    pc -= i.bx() as usize;
                                }
                            }
                            _ => {}
                        }
                    }
                    OpCode::ForPrep => {
                        savepc!();
                        let a = i.a() as usize;
                        if self.for_prep(base + a)? {
                            pc += i.bx() as usize + 1;
                        }
                    }
                    OpCode::TForPrep => {
                        savepc!();
                        self.mark_tbc(base + i.a() as usize + 3)?;
                        pc += i.bx() as usize;
                    }
                    OpCode::TForCall => {
                        let a = base + i.a() as usize;
                        self.th.stack.copy_within(a..a + 3, a + 4);
                        self.th.top = a + 4 + 3;
                        savepc!();
                        self.call_from_instruction(a + 4, i.c() as i32)?;
                        continue 'frame;
                    }
                    OpCode::TForLoop => {
                        let a = i.a() as usize;
                        let v = reg!(a + 4);
                        if !v.is_nil() {
                            reg!(a + 2) = v;
                            pc -= i.bx() as usize;
                        }
                    }
                    OpCode::SetList => {
                        let a = base + i.a() as usize;
                        let n = if i.b() == 0 {
                            self.th.top - a - 1
                        } else {
                            i.b() as usize
                        };
                        let mut last = i.c() as usize;
                        let ipc = pc - 1;
                        if i.k() {
                            last += window::instruction(code, pc).ax_arg() as usize
                                * (MAXARG_C as usize + 1);
                            pc += 1;
                        }
                        savepc!();
                        let Value::Table(t) = self.th.stack[a] else {
                            return Err(Throw::msg("SETLIST on a non-table"));
                        };
                        pay_or_rewind!(self.charge_work(Work::Entries, n), ipc);
                        self.heap.table_reserve_array(t, last + n)?;
                        for j in 1..=n {
                            let v = self.th.stack[a + j];
                            self.heap
                                .table_set_int(t, (last + j) as i64, v)
                                .map_err(set_error)?;
                        }
                        self.restore_caller_top_for(fi);
                    }
                    OpCode::Closure => {
                        savepc!();
                        let c = self.closure_instruction(cl, i.bx() as usize, base)?;
                        reg!(i.a()) = Value::LuaFn(c);
                        if self.heap.gc.should_collect() {
                            return Ok(());
                        }
                    }
                    OpCode::Vararg => {
                        savepc!();
                        self.vararg_instruction(fi, base + i.a() as usize, i.c(), pc - 1)?;
                    }
                    OpCode::VarargPrep => {}
                    OpCode::ExtraArg => {}
                }
            }
        }
    }

    /// Whether `run_loop`, given the turn, would go straight to the top frame's step: no
    /// leftover work, no trap or end to report, no collector step or finalizer due.
    #[inline]
    pub(super) fn loop_may_take_native_step(&self) -> bool {
        !self.trapped
            && self.finished.is_none()
            && !self.has_leftover_work()
            && !self.heap.gc.should_collect()
            && self.heap.gc.to_finalize.is_empty()
    }

    /// Takes the step of native frame `frame` as `run_loop` would. False when it failed: the
    /// error waits in `native_throw` for `run_loop`.
    #[inline(never)]
    fn native_step(
        &mut self,
        n: crate::value::NativeRef,
        frame: crate::heap::frame::Frame,
    ) -> bool {
        match self.run_native(n, frame) {
            Ok(()) => true,
            Err(t) => {
                self.native_throw = Some(t);
                false
            }
        }
    }

    /// `CLOSURE`: a closure of nested prototype `child` of the running closure `cl`'s
    /// prototype, capturing its upvalues from `cl` and the registers from `base`. Out of line:
    /// the loop keeps only its dispatch; marked cold, which left the hot arms' registers as
    /// they were (bench/README.md, "Native returns, the sort machine, …").
    #[cold]
    #[inline(never)]
    fn closure_instruction(
        &mut self,
        cl: crate::value::ClosureRef,
        child: usize,
        base: usize,
    ) -> Result<crate::value::ClosureRef, Throw> {
        let p = self.heap.proto(self.heap.closure(cl).proto).protos[child];
        let descs = self.heap.proto(p).upvalues.clone();
        let mut ups = Vec::with_capacity(descs.len());
        for d in descs.iter() {
            if d.in_stack {
                ups.push(self.find_upval(base + d.index as usize)?);
            } else {
                ups.push(self.heap.closure(cl).upvalues[d.index as usize]);
            }
        }
        Ok(self.heap.new_closure(p, ups.into_boxed_slice())?)
    }

    /// TAILCALL of a value at `a` that is not a function: its `__call` chain, each link put
    /// below the arguments as `call_value` does; the function it ends at. Cold: callable
    /// tables are rare in tail position.
    #[cold]
    #[inline(never)]
    fn tail_callee_through_call(&mut self, a: usize) -> Result<Value, Throw> {
        let mut tries = 0;
        let mut callee = self.th.stack[a];
        while !callee.is_function() {
            let tm = self.metamethod(callee, MetaMethod::Call);
            if tm.is_nil() || tries >= MAX_TAG_LOOP {
                return Err(Throw::CallError { func: a });
            }
            // As in `call_value`: a link of a `__call` chain, charged as debt.
            self.charge_debt(1 + Work::Values.units_of(self.th.top - a));
            let top = self.th.top;
            self.ensure_stack(top + 1 + super::EXTRA_STACK)?;
            self.th.stack.copy_within(a..top, a + 1);
            self.th.top = top + 1;
            self.th.stack[a] = tm;
            callee = tm;
            tries += 1;
        }
        Ok(callee)
    }

    /// `VARARG` of frame `fi` (at pc `ipc`) into the registers from `a`: `c - 1` values, or all
    /// of them for `c` 0. Out of line and cold, as `closure_instruction` is.
    #[cold]
    #[inline(never)]
    fn vararg_instruction(&mut self, fi: usize, a: usize, c: u32, ipc: usize) -> Result<(), Throw> {
        let f = self.th.frames[fi];
        let (from, count) = self.frame_varargs(&f);
        let wanted = if c == 0 { count } else { c as usize - 1 };
        self.pay_or_rewind_to(Work::Values, wanted, fi, ipc)?;
        self.ensure_stack(a + wanted + super::EXTRA_STACK)?;
        for j in 0..wanted {
            self.th.stack[a + j] = if j < count {
                self.th.stack[from + j]
            } else {
                Value::Nil
            };
        }
        if c == 0 {
            self.th.top = a + wanted;
        }
        Ok(())
    }

    /// As the loop's `pay_or_rewind!`, for the instructions' out-of-line bodies: pays for
    /// `pieces` of `work` before it is done; refused, the instruction of frame `fi` at `ipc`
    /// runs again after a refuel.
    fn pay_or_rewind_to(
        &mut self,
        work: Work,
        pieces: usize,
        fi: usize,
        ipc: usize,
    ) -> Result<(), Throw> {
        let paid = self.charge_work(work, pieces);
        if matches!(paid, Err(Throw::OutOfFuel)) && self.th.frames.len() == fi + 1 {
            self.th.frames[fi].pc = ipc as u32;
            self.refuse_step(self.step_start);
        }
        paid
    }

    /// `LT`/`LE` on operands that are not both numbers: strings compared (paid by the bytes
    /// read) or the `__lt`/`__le` metamethod called, as `order_slow` does. Out of line and
    /// cold, as `closure_instruction` is; after `savepc!`.
    #[cold]
    #[inline(never)]
    fn order_instruction(
        &mut self,
        op: OpCode,
        a: Value,
        b: Value,
        k: bool,
    ) -> Result<Option<bool>, Throw> {
        if let (Value::Str(x), Value::Str(y)) = (a, b) {
            // Comparing strings reads up to the shorter one's length.
            let n = self.heap.str(x).len().min(self.heap.str(y).len());
            self.pay_in_instruction(Work::Bytes.units_of(n))?;
        }
        let ev = if op == OpCode::Lt {
            MetaMethod::Lt
        } else {
            MetaMethod::Le
        };
        self.order_slow(ev, a, b, k)
    }

    /// `LTI`/`LEI`/`GTI`/`GEI` (`op`, instruction `i`) on a value `a` that is not a number:
    /// the `__lt`/`__le` metamethod called with the immediate, as `order_slow` does. Out of
    /// line and cold; after `savepc!`.
    #[cold]
    #[inline(never)]
    fn order_immediate_instruction(
        &mut self,
        op: OpCode,
        a: Value,
        i: Instruction,
    ) -> Result<Option<bool>, Throw> {
        let imm = i.sb() as i64;
        // The immediate is a float when C says so (for the metamethod).
        let iv = if i.c() != 0 {
            Value::Float(imm as f64)
        } else {
            Value::Int(imm)
        };
        let (ev, x, y) = match op {
            OpCode::LtI => (MetaMethod::Lt, a, iv),
            OpCode::LeI => (MetaMethod::Le, a, iv),
            OpCode::GtI => (MetaMethod::Lt, iv, a),
            _ => (MetaMethod::Le, iv, a),
        };
        self.order_slow(ev, x, y, i.k())
    }

    /// `MMBIN`/`MMBINI`/`MMBINK` (`op`, instruction `i`, after the arithmetic instruction
    /// `prev` whose fast path failed): the metamethod of its event, or the arithmetic on
    /// strings that convert to numbers. The register and value to set, or `None` when a
    /// metamethod call was started. Out of line and cold; after `savepc!`.
    #[cold]
    #[inline(never)]
    fn metamethod_binary_instruction(
        &mut self,
        op: OpCode,
        i: Instruction,
        prev: Option<Instruction>,
        base: usize,
        k: window::Constants,
    ) -> Result<Option<(u32, Value)>, Throw> {
        let Some(prev) = prev else {
            return Err(Throw::msg("MMBIN without its instruction"));
        };
        let dest = prev.a();
        let a = self.stack_get(base + i.a() as usize);
        let (b, bop) = match op {
            OpCode::MmBin => (
                self.stack_get(base + i.b() as usize),
                Operand::Register(i.b()),
            ),
            OpCode::MmBinI => (Value::Int(i.sb() as i64), Operand::None),
            _ => (
                window::constant(k, i.b() as usize),
                Operand::Constant(i.b()),
            ),
        };
        let flip = op != OpCode::MmBin && i.k();
        let Some(event) = MetaMethod::from_binary_operand(i.c()) else {
            return Err(Throw::msg("invalid metamethod event"));
        };
        let (x, y, xo, yo) = if flip {
            (b, a, bop, Operand::Register(i.a()))
        } else {
            (a, b, Operand::Register(i.a()), bop)
        };
        Ok(self
            .arith_slow(event, x, y, xo, yo, dest)?
            .map(|v| (dest, v)))
    }

    /// `CONCAT a n` of frame `fi`: the result, or `None` when a `__concat` call was
    /// started. Out of line: the loop keeps only its dispatch.
    #[cold]
    #[inline(never)]
    fn concat_instruction(
        &mut self,
        fi: usize,
        base: usize,
        a: u8,
        n: usize,
    ) -> Result<Option<Value>, Throw> {
        self.th.top = base + a as usize + n;
        let r = self.concat(base + a as usize, n, a);
        // Not when a `__concat` call was started: a native's arguments end at the top.
        if self.th.frames.len() == fi + 1 {
            self.restore_caller_top_for(fi);
        }
        r
    }

    fn restore_caller_top_for(&mut self, fi: usize) {
        if let Some(f) = self.th.frames.get(fi) {
            if let FrameKind::Lua(cl) = f.kind {
                let p = self.heap.proto(self.heap.closure(cl).proto);
                self.th.top = f.base as usize + p.max_stack_size as usize;
            }
        }
    }

    /// Numeric for loop preparation (Lua's `forprep`). Returns true to skip the loop. Out of
    /// line and cold: once per loop, and the loop's largest arm when it was inlined.
    #[cold]
    #[inline(never)]
    fn for_prep(&mut self, ra: usize) -> Result<bool, Throw> {
        let init = self.th.stack[ra];
        let limit = self.th.stack[ra + 1];
        let step = self.th.stack[ra + 2];
        if let (Value::Int(init), Value::Int(step)) = (init, step) {
            if step == 0 {
                return Err(Throw::msg("'for' step is zero"));
            }
            self.th.stack[ra + 3] = Value::Int(init);
            let lim = match self.to_number(limit) {
                Some(Number::Int(l)) => l,
                Some(Number::Float(f)) => {
                    let mode = if step < 0 {
                        FloatToInt::Ceil
                    } else {
                        FloatToInt::Floor
                    };
                    match number::float_to_int(f, mode) {
                        Some(l) => l,
                        None => {
                            // NaN counts as below every integer, as in Lua's `forlimit`.
                            if f > 0.0 {
                                if step < 0 {
                                    return Ok(true);
                                }
                                i64::MAX
                            } else {
                                if step > 0 {
                                    return Ok(true);
                                }
                                i64::MIN
                            }
                        }
                    }
                }
                None => return Err(self.op_error(OpError::For("limit"))),
            };
            if if step > 0 { init > lim } else { init < lim } {
                return Ok(true);
            }
            let count = if step > 0 {
                let c = (lim as u64).wrapping_sub(init as u64);
                if step != 1 {
                    c / step as u64
                } else {
                    c
                }
            } else {
                let c = (init as u64).wrapping_sub(lim as u64);
                c / ((-(step + 1)) as u64 + 1)
            };
            self.th.stack[ra + 1] = Value::Int(count as i64);
            return Ok(false);
        }
        let Some(l) = self.to_number(limit) else {
            return Err(self.op_error(OpError::For("limit")));
        };
        let Some(s) = self.to_number(step) else {
            return Err(self.op_error(OpError::For("step")));
        };
        let Some(i0) = self.to_number(init) else {
            return Err(self.op_error(OpError::For("initial value")));
        };
        let (l, s, i0) = (l.to_f64(), s.to_f64(), i0.to_f64());
        if s == 0.0 {
            return Err(Throw::msg("'for' step is zero"));
        }
        if if s > 0.0 { l < i0 } else { i0 < l } {
            return Ok(true);
        }
        self.th.stack[ra] = Value::Float(i0);
        self.th.stack[ra + 1] = Value::Float(l);
        self.th.stack[ra + 2] = Value::Float(s);
        self.th.stack[ra + 3] = Value::Float(i0);
        Ok(false)
    }

    /// `t[key]` beyond the raw fast path: `__index` chains. Returns `None` when a metamethod
    /// call was started (its result goes to register `dest`).
    #[inline]
    pub(crate) fn index_slow(
        &mut self,
        t: Value,
        key: Value,
        dest: u32,
        what: Operand,
    ) -> Result<Option<Value>, Throw> {
        // The usual miss, a method or a class field: a string key that `t` lacks (every
        // caller's fast path has looked in a table) found in the table its metatable's
        // `__index` names. One hop, taken here as `index_walk` takes it, for the same price.
        if let Value::Str(s) = key {
            if let Some(mt) = self.metatable(t) {
                if let Value::Table(next) = self.meta_field(mt, MetaMethod::Index) {
                    let v = self.heap.table(next).get_str(s);
                    if !v.is_nil() {
                        self.pay_in_instruction(1)?;
                        return Ok(Some(v));
                    }
                }
            }
        }
        self.index_walk(t, key, dest, what)
    }

    /// `index_slow`'s walk of the `__index` chain, from `t`.
    fn index_walk(
        &mut self,
        mut t: Value,
        key: Value,
        dest: u32,
        what: Operand,
    ) -> Result<Option<Value>, Throw> {
        let mut first = true;
        for hops in 0..MAX_TAG_LOOP {
            let tm = if let Value::Table(tr) = t {
                // Every caller's fast path has just looked a string key up in the first
                // table and found nothing: only the links after it are looked at here.
                let looked = first && matches!(key, Value::Str(_));
                let table = self.heap.table(tr);
                // A method's name is the usual key here: looked up inline, not through `get`.
                let v = match key {
                    _ if looked => Value::Nil,
                    Value::Str(s) => table.get_str(s),
                    _ => table.get(key),
                };
                if !v.is_nil() {
                    self.pay_in_instruction(hops as u64)?;
                    return Ok(Some(v));
                }
                match self.heap.table(tr).metatable {
                    None => {
                        self.pay_in_instruction(hops as u64)?;
                        return Ok(Some(Value::Nil));
                    }
                    Some(mt) => {
                        let tm = self.meta_field(mt, MetaMethod::Index);
                        if tm.is_nil() {
                            self.pay_in_instruction(hops as u64)?;
                            return Ok(Some(Value::Nil));
                        }
                        tm
                    }
                }
            } else {
                let tm = self.metamethod(t, MetaMethod::Index);
                if tm.is_nil() {
                    let what = if first { what } else { Operand::None };
                    return Err(self.op_error(OpError::Index { what, value: t }));
                }
                tm
            };
            if tm.is_function() {
                self.pay_in_instruction(hops as u64)?;
                self.call_with(tm, &[t, key], 1, ReturnTo::Register(dest as u8))?;
                return Ok(None);
            }
            t = tm;
            first = false;
        }
        Err(Throw::msg("'__index' chain too long; possible loop"))
    }

    /// Pays for work the instruction being executed has found it must do (the links of an
    /// `__index`/`__newindex` chain it walked, a rehash), before it acts. Nothing was changed
    /// yet, so a refusal puts the frame back at the instruction, to be run again after a
    /// refuel. Only for one-word instructions, called from `execute` after it saved the pc and
    /// before any frame is pushed.
    pub(super) fn pay_in_instruction(&mut self, units: u64) -> Result<(), Throw> {
        if units == 0 {
            return Ok(());
        }
        let paid = self.charge(units);
        if paid.is_err() {
            if let Some(f) = self.th.frames.last_mut() {
                f.pc = f.pc.saturating_sub(1);
            }
            self.refuse_step(self.step_start);
        }
        paid
    }

    /// `t[key] = v` with `__newindex`. Returns false when a metamethod call was started.
    pub(crate) fn newindex(
        &mut self,
        mut t: Value,
        key: Value,
        v: Value,
        what: Operand,
    ) -> Result<bool, Throw> {
        let mut first = true;
        for hops in 0..MAX_TAG_LOOP {
            let tm = if let Value::Table(tr) = t {
                let table = self.heap.table(tr);
                let existing = table.get(key);
                let tm = if existing.is_nil() {
                    match table.metatable {
                        Some(mt) => self.meta_field(mt, MetaMethod::NewIndex),
                        None => Value::Nil,
                    }
                } else {
                    Value::Nil
                };
                if tm.is_nil() {
                    self.pay_in_instruction(hops as u64)?;
                    self.raw_set_in_instruction(tr, key, v, existing.is_nil())?;
                    return Ok(true);
                }
                tm
            } else {
                let tm = self.metamethod(t, MetaMethod::NewIndex);
                if tm.is_nil() {
                    let what = if first { what } else { Operand::None };
                    return Err(self.op_error(OpError::Index { what, value: t }));
                }
                tm
            };
            if tm.is_function() {
                self.pay_in_instruction(hops as u64)?;
                self.call_with(tm, &[t, key, v], 0, ReturnTo::Discard)?;
                return Ok(false);
            }
            t = tm;
            first = false;
        }
        Err(Throw::msg("'__newindex' chain too long; possible loop"))
    }

    /// Arithmetic after the fast path failed: Lua's `luaT_trybinTM`. The interpreter
    /// converts no strings: a numeric string is arithmetic only through the string
    /// metatable's `__add`, `__sub`, … (the string library installs them, and a script may
    /// replace or remove them), so strings reach here and look up their metamethods like
    /// any other value.
    pub(crate) fn arith_slow(
        &mut self,
        event: MetaMethod,
        a: Value,
        b: Value,
        ao: Operand,
        bo: Operand,
        dest: u32,
    ) -> Result<Option<Value>, Throw> {
        let Some(op) = event.arith_op() else {
            return Err(Throw::msg("invalid arithmetic event"));
        };
        if let (Some(x), Some(y)) = (a.as_number(), b.as_number()) {
            // Two numbers the fast path did not take: bitwise operands without an integer
            // value (an error below, as no number has metamethods) or a division by zero.
            if let Some(n) = number::arith(op, x, y) {
                return Ok(Some(Value::from_number(n)));
            }
            if !op.is_bitwise() {
                return Err(Throw::msg(if op == ArithOp::Mod {
                    "attempt to perform 'n%0'"
                } else {
                    "attempt to divide by zero"
                }));
            }
        }
        let mut tm = self.metamethod(a, event);
        if tm.is_nil() {
            tm = self.metamethod(b, event);
        }
        if tm.is_nil() {
            return Err(self.op_error(OpError::Arith {
                a: ao,
                b: bo,
                av: a,
                bv: b,
                op,
            }));
        }
        self.call_with(tm, &[a, b], 1, ReturnTo::Register(dest as u8))?;
        Ok(None)
    }

    /// `#v`. Returns `None` when `__len` was called.
    pub(crate) fn len_slow(
        &mut self,
        v: Value,
        dest: u32,
        what: Operand,
    ) -> Result<Option<Value>, Throw> {
        match v {
            Value::Str(s) => Ok(Some(Value::Int(self.heap.str(s).len() as i64))),
            Value::Table(t) => {
                let tm = match self.heap.table(t).metatable {
                    Some(mt) => self.meta_field(mt, MetaMethod::Len),
                    None => Value::Nil,
                };
                if tm.is_nil() {
                    // The search changes nothing and its length is bounded (~200 probes):
                    // paying after it is safe, and a refusal leaves nothing changed. Paid,
                    // the border hint moves.
                    let found = self.heap.table(t).border_search();
                    self.charge(found.probes)?;
                    self.heap.table(t).move_border_hint(&found);
                    return Ok(Some(Value::Int(found.border)));
                }
                self.call_with(tm, &[v, v], 1, ReturnTo::Register(dest as u8))?;
                Ok(None)
            }
            _ => {
                let tm = self.metamethod(v, MetaMethod::Len);
                if tm.is_nil() {
                    return Err(self.op_error(OpError::Len { what, value: v }));
                }
                self.call_with(tm, &[v, v], 1, ReturnTo::Register(dest as u8))?;
                Ok(None)
            }
        }
    }

    /// `a == b` with `__eq`. `None` when the metamethod was called.
    pub(crate) fn equals(&mut self, a: Value, b: Value) -> Result<Option<bool>, Throw> {
        if a.raw_eq(b) {
            return Ok(Some(true));
        }
        let ((Value::Table(_), Value::Table(_)) | (Value::UserData(_), Value::UserData(_))) =
            (a, b)
        else {
            return Ok(Some(false));
        };
        let mut tm = self.metamethod(a, MetaMethod::Eq);
        if tm.is_nil() {
            tm = self.metamethod(b, MetaMethod::Eq);
        }
        if tm.is_nil() {
            return Ok(Some(false));
        }
        // The caller decides with k; the call's truth drives the jump.
        let k = self.current_k();
        self.call_with(tm, &[a, b], 1, ReturnTo::Condition { k })?;
        Ok(None)
    }

    fn current_k(&self) -> bool {
        let Some(f) = self.th.frames.last() else {
            return false;
        };
        let FrameKind::Lua(cl) = f.kind else {
            return false;
        };
        let p = self.heap.proto(self.heap.closure(cl).proto);
        (f.pc as usize)
            .checked_sub(1)
            .and_then(|pc| p.code.get(pc))
            .is_some_and(|i: &Instruction| i.k())
    }

    /// `<` / `<=` beyond numbers: strings, then `__lt`/`__le`.
    pub(crate) fn order_slow(
        &mut self,
        ev: MetaMethod,
        a: Value,
        b: Value,
        k: bool,
    ) -> Result<Option<bool>, Throw> {
        if let (Value::Str(x), Value::Str(y)) = (a, b) {
            // Paid for by the comparison instruction before it came here.
            let (x, y) = (self.heap.str(x), self.heap.str(y));
            return Ok(Some(if ev == MetaMethod::Lt { x < y } else { x <= y }));
        }
        if let (Some(x), Some(y)) = (a.as_number(), b.as_number()) {
            return Ok(Some(if ev == MetaMethod::Lt {
                number::num_lt(x, y)
            } else {
                number::num_le(x, y)
            }));
        }
        let mut tm = self.metamethod(a, ev);
        if tm.is_nil() {
            tm = self.metamethod(b, ev);
        }
        if tm.is_nil() && ev == MetaMethod::Le {
            // The reference build keeps 5.3's fallback: `a <= b` is `not (b < a)`.
            let mut lt = self.metamethod(b, MetaMethod::Lt);
            if lt.is_nil() {
                lt = self.metamethod(a, MetaMethod::Lt);
            }
            if !lt.is_nil() {
                self.call_with(lt, &[b, a], 1, ReturnTo::ConditionNot { k })?;
                return Ok(None);
            }
        }
        if tm.is_nil() {
            return Err(self.op_error(OpError::Compare { a, b }));
        }
        self.call_with(tm, &[a, b], 1, ReturnTo::Condition { k })?;
        Ok(None)
    }

    /// Values of a table for generic `for` and library use: raw `next`.
    /// `next(t, key)`, paying per slot it looks at (`Work::Entries`): a table emptied by
    /// assignments keeps its slots, and one call may skip many. The scan stops at what the
    /// meter can pay, and is then refused whole (its price recorded) to be made again.
    ///
    /// # Errors
    /// "invalid key to 'next'", or `OutOfFuel`.
    pub fn table_next(&mut self, t: TableRef, key: Value) -> Result<Option<(Value, Value)>, Throw> {
        let available = self.fuel_available();
        let limit = available
            .saturating_mul(Work::Entries.per_unit())
            .min(usize::MAX as u64) as usize;
        let (found, scanned) = self
            .heap
            .table(t)
            .next_within(key, limit)
            .map_err(|_| Throw::msg("invalid key to 'next'"))?;
        // Within the limit, so the meter can pay what was looked at.
        self.charge_work(Work::Entries, scanned)?;
        if matches!(found, Next::Stopped) {
            // It needs more than it had: refused until a refuel gives more, then made again.
            return Err(self
                .charge(available.saturating_add(1))
                .err()
                .unwrap_or(Throw::OutOfFuel));
        }
        Ok(match found {
            Next::Found(k, v) => Some((k, v)),
            Next::End | Next::Stopped => None,
        })
    }
}

#[inline]
fn cond_jump(pc: &mut usize, code: window::Code, cond: bool, k: bool) {
    if cond != k {
        *pc += 1;
    } else if let Some(j) = code.get(*pc) {
        *pc = (*pc as i64 + j.sj_arg() as i64 + 1) as usize;
    }
}

pub(super) fn set_error(e: crate::heap::SetError) -> Throw {
    match e {
        crate::heap::SetError::Key(crate::value::KeyError::Nil) => Throw::msg("table index is nil"),
        crate::heap::SetError::Key(crate::value::KeyError::NaN) => Throw::msg("table index is NaN"),
        crate::heap::SetError::Memory(m) => Throw::Memory(m),
    }
}
