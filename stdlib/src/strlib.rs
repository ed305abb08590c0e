//! The string library (Lua 5.4 manual §6.4) as natives over the engines in [`crate::pattern`],
//! [`crate::format`] and [`crate::pack`], plus the string metatable (`__index = string`).
//!
//! `gsub` with a function or table replacement and `format` with `__tostring` arguments are
//! state machines: they call Lua through `Action::Call` and keep their progress on the stack.

use crate::base::index_value;
use crate::base::NO_YIELD;
use crate::budget::{
    charge, charge_bytes, check_memory, memory_error, memory_left, new_string, Hook,
};
use crate::pattern::{self, Capture, GmatchState, Gsub, PatternError, RawMatch};
use crate::support::*;
use crate::{format, pack, Arg, EngineError, Lib};
use kernel::cost::Work;
use kernel::metamethod::MetaMethod;
use kernel::number::ArithOp;
use kernel::value::{StrRef, TableRef, Value};
use kernel::vm::native::{CallSlot, Resumable, Resume};
use kernel::vm::{Action, NativeCall, NativeFn, Throw, Vm};

pub const LIB: Lib = Lib {
    switches: &[],
    resumable: &[
        ("string.format", &FORMAT_RESUMES),
        ("string.gsub", &GSUB_RESUMES),
    ],
    name: Some("string"),
    functions: &[
        ("byte", byte, 0),
        ("char", char, 0),
        ("find", find, 0),
        ("format", format_, NO_YIELD),
        ("gmatch", gmatch, 0),
        ("gsub", gsub, NO_YIELD),
        ("len", len, 0),
        ("lower", lower, 0),
        ("match", match_, 0),
        ("rep", rep, 0),
        ("reverse", reverse, 0),
        ("sub", sub, 0),
        ("upper", upper, 0),
        ("pack", pack_, 0),
        ("packsize", packsize, 0),
        ("unpack", unpack, 0),
    ],
    hidden: &[("string.gmatch.iterator", gmatch_iterator, 0)],
    open: Some(open),
};

/// Installs the string metatable: `__index` is the `string` table, and the arithmetic
/// metamethods of [`ARITH_METAMETHODS`] make numeric strings arithmetic.
fn open(vm: &mut Vm, t: TableRef) -> Result<(), Throw> {
    let mt = vm.new_table(0, 1 + ARITH_METAMETHODS.len())?;
    let k = Value::Str(vm.meta_name(MetaMethod::Index));
    vm.raw_set(mt, k, Value::Table(t))?;
    for &(name, _, event) in ARITH_METAMETHODS {
        let id = vm
            .natives()
            .id_of(name)
            .ok_or_else(|| Throw::msg(format!("native {name} not registered")))?;
        let f = vm.native_value(id, Vec::new())?;
        let k = Value::Str(vm.meta_name(event));
        vm.raw_set(mt, k, f)?;
    }
    vm.string_meta = Some(mt);
    Ok(())
}

/// The string metatable's arithmetic (lstrlib's `stringmetamethods`). The interpreter
/// converts no strings: `"10" + 1` is 11 because the string's `__add` converts both operands,
/// so a script that replaces or removes it changes what string arithmetic does, as in Lua 5.4.
/// There are none for the bitwise operators, which never take strings. Registered after
/// every other native (`lib::natives`), as ids are positions.
pub const ARITH_METAMETHODS: &[(&str, NativeFn, MetaMethod)] = &[
    ("string.metatable.__add", arith_add, MetaMethod::Add),
    ("string.metatable.__sub", arith_sub, MetaMethod::Sub),
    ("string.metatable.__mul", arith_mul, MetaMethod::Mul),
    ("string.metatable.__mod", arith_mod, MetaMethod::Mod),
    ("string.metatable.__pow", arith_pow, MetaMethod::Pow),
    ("string.metatable.__div", arith_div, MetaMethod::Div),
    ("string.metatable.__idiv", arith_idiv, MetaMethod::IDiv),
    ("string.metatable.__unm", arith_unm, MetaMethod::Unm),
];

fn arith_add(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    string_arith(vm, call, ArithOp::Add, MetaMethod::Add)
}

fn arith_sub(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    string_arith(vm, call, ArithOp::Sub, MetaMethod::Sub)
}

fn arith_mul(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    string_arith(vm, call, ArithOp::Mul, MetaMethod::Mul)
}

fn arith_mod(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    string_arith(vm, call, ArithOp::Mod, MetaMethod::Mod)
}

fn arith_pow(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    string_arith(vm, call, ArithOp::Pow, MetaMethod::Pow)
}

fn arith_div(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    string_arith(vm, call, ArithOp::Div, MetaMethod::Div)
}

fn arith_idiv(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    string_arith(vm, call, ArithOp::IDiv, MetaMethod::IDiv)
}

fn arith_unm(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    string_arith(vm, call, ArithOp::Unm, MetaMethod::Unm)
}

/// The state a string metamethod is entered again in when the other operand's metamethod
/// returned.
const ARITH_TRIED_OTHER: u32 = 1;

/// A string metamethod waits for the other operand's, called above both operands; it
/// returns that result, reading nothing else.
pub const ARITH_RESUMES: Resumable = Resumable {
    protects: false,
    states: &[Resume::one(ARITH_TRIED_OTHER, CallSlot::From(2), 1)],
};

/// lstrlib's `arith`: both operands converted (`tonum`) and combined, or else `trymt`.
fn string_arith(
    vm: &mut Vm,
    call: NativeCall,
    op: ArithOp,
    event: MetaMethod,
) -> Result<Action, Throw> {
    if call.state == ARITH_TRIED_OTHER {
        return Ok(Action::Return(1));
    }
    let n = nargs(vm, &call);
    let (a, b) = (arg(vm, &call, 1), arg(vm, &call, 2));
    // Converting reads every byte of a string: each is paid before it is converted.
    let x = if n >= 1 {
        charge_coercion(vm, a)?;
        vm.to_number(a)
    } else {
        None
    };
    let y = match x {
        // `tonum` pushes what it converted: called with one argument, the second it
        // converts is the first one's number.
        Some(x) if n == 1 => Some(x),
        Some(_) => {
            charge_coercion(vm, b)?;
            vm.to_number(b)
        }
        None => None,
    };
    if let (Some(x), Some(y)) = (x, y) {
        // `lua_arith` applies a unary operator to the top value: the second operand.
        let x = if op == ArithOp::Unm { y } else { x };
        return match kernel::number::arith(op, x, y) {
            Some(r) => ret1(vm, Value::from_number(r)),
            // Raised inside the native: no position, as `luaG_runerror` from C.
            None if op == ArithOp::Mod => Err(Throw::Plain("attempt to perform 'n%0'".into())),
            None => Err(Throw::Plain("attempt to divide by zero".into())),
        };
    }
    // `trymt`: the first operand was a string or had no such metamethod, so only the
    // second one's can still apply.
    let tm = match b {
        Value::Str(_) => Value::Nil,
        _ => vm.metamethod(b, event),
    };
    if tm.is_nil() {
        return Err(Throw::msg(format!(
            "attempt to {} a '{}' with a '{}'",
            &event.name()[2..],
            a.type_name(),
            b.type_name()
        )));
    }
    call_lua(vm, tm, &[a, b], 1, ARITH_TRIED_OTHER)
}

/// `posrelatI`: a start position made absolute (1-based, may exceed the length).
fn posrelat_i(pos: i64, len: usize) -> u64 {
    if pos > 0 {
        pos as u64
    } else if pos == 0 || pos.unsigned_abs() > len as u64 {
        1
    } else {
        (len as i64 + pos + 1) as u64
    }
}

/// `getendpos`: an end position clipped to `[0, len]`.
fn end_pos(pos: i64, len: usize) -> usize {
    if pos > len as i64 {
        len
    } else if pos >= 0 {
        pos as usize
    } else if pos.unsigned_abs() > len as u64 {
        0
    } else {
        (len as i64 + pos + 1) as usize
    }
}

fn bytes(vm: &Vm, s: StrRef) -> &[u8] {
    vm.heap.str(s)
}

fn pattern_err(e: PatternError<Throw>) -> Throw {
    match e {
        PatternError::Lua(m) => Throw::msg(m),
        PatternError::Abort(t) => t,
    }
}

fn engine_err(e: EngineError<Throw>) -> Throw {
    match e {
        EngineError::Msg(m) => Throw::msg(m),
        EngineError::Arg { n, msg } => Throw::bad_arg(n, msg),
        EngineError::Abort(t) => t,
    }
}

fn len(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let s = check_str(vm, &call, 1)?;
    let n = bytes(vm, s).len() as i64;
    ret1(vm, Value::Int(n))
}

fn sub(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let s = check_str(vm, &call, 1)?;
    let l = bytes(vm, s).len();
    let i = check_integer(vm, &call, 2)?;
    let j = opt_integer(vm, &call, 3, -1)?;
    let start = posrelat_i(i, l).max(1);
    let end = end_pos(j, l);
    if start > end as u64 {
        return ret_str(vm, b"");
    }
    let (a, b) = (start as usize - 1, end);
    charge_bytes(vm, b - a)?;
    if a == 0 && b == l {
        let whole = vm.heap.copy_string(s);
        return ret1(vm, Value::Str(whole));
    }
    let subject = vm.heap.str_shared(s);
    ret_str(vm, &subject[a..b])
}

fn map_bytes(vm: &mut Vm, call: NativeCall, f: fn(&[u8]) -> Vec<u8>) -> Result<Action, Throw> {
    let s = check_str(vm, &call, 1)?;
    let n = bytes(vm, s).len();
    charge_bytes(vm, n)?;
    check_memory(vm, n)?;
    let out = f(bytes(vm, s));
    ret_str(vm, &out)
}

fn upper(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    map_bytes(vm, call, |b| b.to_ascii_uppercase())
}

fn lower(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    map_bytes(vm, call, |b| b.to_ascii_lowercase())
}

fn reverse(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    map_bytes(vm, call, |b| b.iter().rev().copied().collect())
}

fn rep(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let s = check_str(vm, &call, 1)?;
    let n = check_integer(vm, &call, 2)?;
    let sep = opt_str(vm, &call, 3)?;
    if n <= 0 {
        return ret_str(vm, b"");
    }
    let l = bytes(vm, s).len() as u64;
    let lsep = sep.map_or(0, |p| bytes(vm, p).len()) as u64;
    // lstrlib's MAXSIZE: results are limited to fit in a C `int`.
    let max = i32::MAX as u64;
    let unit = l + lsep;
    if unit == 0 {
        // Empty pieces make an empty string at once: looping `n` times would cost no fuel.
        return ret_str(vm, b"");
    }
    if unit > max / n as u64 {
        return Err(Throw::msg("resulting string too large"));
    }
    let total = (unit * n as u64 - lsep) as usize;
    check_memory(vm, total)?;
    charge_bytes(vm, total)?;
    let mut out = Vec::new();
    out.try_reserve_exact(total)
        .map_err(|_| memory_error(vm, total))?;
    let piece = bytes(vm, s);
    let sepb: &[u8] = sep.map_or(&[], |p| vm.heap.str(p));
    for i in 0..n {
        out.extend_from_slice(piece);
        if i + 1 < n {
            out.extend_from_slice(sepb);
        }
    }
    ret_str(vm, &out)
}

fn byte(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let s = check_str(vm, &call, 1)?;
    let l = bytes(vm, s).len();
    let pi = opt_integer(vm, &call, 2, 1)?;
    let posi = posrelat_i(pi, l);
    let pose = end_pos(opt_integer(vm, &call, 3, pi)?, l) as u64;
    if posi > pose {
        return Ok(Action::Return(0));
    }
    if pose - posi >= i32::MAX as u64 {
        return Err(Throw::msg("string slice too long"));
    }
    let n = (pose - posi) as usize + 1;
    if n >= 1_000_000 {
        return Err(Throw::msg("stack overflow (string slice too long)"));
    }
    charge(vm, Work::Values, n)?;
    vm.ensure_stack(vm.top() + n)?;
    for i in 0..n {
        let b = bytes(vm, s)[posi as usize - 1 + i];
        vm.push(Value::Int(b as i64))?;
    }
    Ok(Action::Return(n))
}

fn char(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let n = nargs(vm, &call);
    charge(vm, Work::Values, n)?;
    let mut out = Vec::with_capacity(n);
    for i in 1..=n {
        let c = check_integer(vm, &call, i)?;
        if c as u64 > 255 {
            return Err(Throw::bad_arg(i, "value out of range"));
        }
        out.push(c as u8);
    }
    ret_str(vm, &out)
}

/// The Lua value of a capture.
fn capture_value(vm: &mut Vm, s: StrRef, c: Capture) -> Result<Value, Throw> {
    match c {
        Capture::Position(p) => Ok(Value::Int(p as i64 + 1)),
        Capture::Span(a, b) => {
            let subject = vm.heap.str_shared(s);
            vm.intern(&subject[a..b])
        }
    }
}

fn find(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    find_aux(vm, call, true)
}

fn match_(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    find_aux(vm, call, false)
}

fn find_aux(vm: &mut Vm, call: NativeCall, find: bool) -> Result<Action, Throw> {
    let s = check_str(vm, &call, 1)?;
    let p = check_str(vm, &call, 2)?;
    let ls = bytes(vm, s).len();
    let init = posrelat_i(opt_integer(vm, &call, 3, 1)?, ls) - 1;
    if init > ls as u64 {
        return ret1(vm, Value::Nil);
    }
    let init = init as usize;
    let plain = arg(vm, &call, 4).truthy();
    charge_bytes(vm, bytes(vm, p).len())?;
    if find && (plain || pattern::nospecials(bytes(vm, p))) {
        // A linear search: it reads the rest of the subject at most once or twice.
        charge_bytes(vm, 2 * (ls - init))?;
        let found = pattern::find_plain(bytes(vm, s), bytes(vm, p), init);
        return match found {
            Some(i) => {
                let lp = bytes(vm, p).len();
                ret(vm, &[Value::Int(i as i64 + 1), Value::Int((i + lp) as i64)])
            }
            None => ret1(vm, Value::Nil),
        };
    }
    let m = {
        let (heap, fuel) = vm.heap_and_fuel();
        let mut hook = Hook::for_matcher(fuel);
        pattern::find(heap.str(s), heap.str(p), init, true, &mut |n| hook.step(n))
            .map_err(pattern_err)?
    };
    let Some(m) = m else {
        return ret1(vm, Value::Nil);
    };
    let mut out = Vec::new();
    if find {
        out.push(Value::Int(m.start as i64 + 1));
        out.push(Value::Int(m.end as i64));
        for &c in &m.captures {
            out.push(capture_value(vm, s, c)?);
        }
    } else {
        for c in m.values() {
            out.push(capture_value(vm, s, c)?);
        }
    }
    ret(vm, &out)
}

fn gmatch(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let s = check_str(vm, &call, 1)?;
    let p = check_str(vm, &call, 2)?;
    let ls = bytes(vm, s).len();
    let init = posrelat_i(opt_integer(vm, &call, 3, 1)?, ls) - 1;
    let init = if init > ls as u64 {
        ls + 1
    } else {
        init as usize
    };
    let st = GmatchState::new(ls, init);
    let id = vm
        .natives()
        .id_of("string.gmatch.iterator")
        .ok_or_else(|| Throw::msg("gmatch iterator missing"))?;
    let f = vm.native_value(
        id,
        vec![
            Value::Str(s),
            Value::Str(p),
            Value::Int(st.pos as i64),
            Value::Int(-1),
        ],
    )?;
    ret1(vm, f)
}

fn gmatch_iterator(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let ups = &vm.heap.native(call.native).upvalues;
    let (
        Some(&Value::Str(s)),
        Some(&Value::Str(p)),
        Some(&Value::Int(pos)),
        Some(&Value::Int(last)),
    ) = (ups.first(), ups.get(1), ups.get(2), ups.get(3))
    else {
        return Err(Throw::msg("gmatch iterator state lost"));
    };
    let mut st = GmatchState {
        pos: pos as usize,
        lastmatch: if last < 0 { None } else { Some(last as usize) },
    };
    charge(vm, Work::Instruction, 1)?;
    let m = {
        let (heap, fuel) = vm.heap_and_fuel();
        let mut hook = Hook::for_matcher(fuel);
        st.next(heap.str(s), heap.str(p), &mut |n| hook.step(n))
            .map_err(pattern_err)?
    };
    // The captures are made (and may be refused memory) before the position moves on: a
    // refused step runs again from the same state.
    let action = match m {
        None => Action::Return(0),
        Some(m) => {
            // At most `MAX_CAPTURES` values (the matcher refuses more): on the stack, not
            // allocated at every step.
            let mut out = [Value::Nil; pattern::MAX_CAPTURES];
            let mut n = 0;
            for (slot, c) in out.iter_mut().zip(m.values()) {
                *slot = capture_value(vm, s, c)?;
                n += 1;
            }
            ret(vm, &out[..n])?
        }
    };
    let ups = &mut vm.heap.natives.get_mut(call.native.index() as u32).upvalues;
    if ups.len() >= 4 {
        ups[2] = Value::Int(st.pos as i64);
        ups[3] = Value::Int(st.lastmatch.map_or(-1, |l| l as i64));
    }
    Ok(action)
}

// gsub keeps its progress in these slots (offsets from the first argument) while it calls a
// replacement function or an `__index` metamethod.
const GS_PIECES: usize = 4;
const GS_SRC: usize = 5;
const GS_LAST: usize = 6;
const GS_N: usize = 7;
const GS_CHANGED: usize = 8;
const GS_DONE: usize = 9;
const GS_MSTART: usize = 10;
const GS_MEND: usize = 11;
const GS_FUNC: usize = 12;

/// gsub waits for a replacement function or an `__index` function, called above its slots.
const GSUB_RESUMES: Resumable = Resumable {
    protects: false,
    states: &[Resume::one(1, CallSlot::At(GS_FUNC), 1)],
};

fn int_at(vm: &Vm, i: usize) -> i64 {
    match vm.stack_get(i) {
        Value::Int(n) => n,
        _ => 0,
    }
}

/// A position in the subject saved in slot `i`: `0..=len`, or (`-1` allowed) none.
fn position_at(vm: &Vm, i: usize, len: usize, none: bool) -> Result<Option<usize>, Throw> {
    match vm.stack_get(i) {
        Value::Int(-1) if none => Ok(None),
        Value::Int(p) => match usize::try_from(p) {
            Ok(p) if p <= len => Ok(Some(p)),
            _ => Err(Throw::msg("string.gsub: lost its state")),
        },
        _ => Err(Throw::msg("string.gsub: lost its state")),
    }
}

fn gsub(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let base = call.base;
    let s = check_str(vm, &call, 1)?;
    let p = check_str(vm, &call, 2)?;
    let srcl = bytes(vm, s).len();
    let mut repl = arg(vm, &call, 3);
    let mut g;
    if call.state == 0 {
        let max_n = opt_integer(vm, &call, 4, srcl as i64 + 1)?;
        match repl {
            Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Table(_) => {}
            v if v.is_function() => {}
            _ => return Err(type_error(vm, &call, 3, "string/function/table")),
        }
        charge_bytes(vm, srcl)?;
        // Above the four arguments only gsub's own slots (an extra argument is no pieces
        // table).
        vm.set_top(base + GS_PIECES)?;
        g = Gsub::new(bytes(vm, p), max_n);
        if matches!(repl, Value::Int(_) | Value::Float(_)) {
            let r = check_str(vm, &call, 3)?;
            repl = Value::Str(r);
        }
    } else {
        // A replacement function or `__index` returned: restore the loop and add its value.
        let max_n = int_at(vm, base + 3);
        g = Gsub::new(bytes(vm, p), max_n);
        // Positions in the subject, as `suspend` wrote them (a restored frame's slots may
        // hold anything: every one is checked before it is used).
        let lost = || Throw::msg("string.gsub: lost its state");
        g.src = position_at(vm, base + GS_SRC, srcl, false)?.ok_or_else(lost)?;
        g.lastmatch = position_at(vm, base + GS_LAST, srcl, true)?;
        g.n = int_at(vm, base + GS_N);
        g.changed = vm.stack_get(base + GS_CHANGED).truthy();
        g.done = vm.stack_get(base + GS_DONE).truthy();
        let ms = position_at(vm, base + GS_MSTART, srcl, false)?.ok_or_else(lost)?;
        let me = position_at(vm, base + GS_MEND, srcl, false)?.ok_or_else(lost)?;
        if ms > me {
            return Err(lost());
        }
        let v = vm.stack_get(vm.top().saturating_sub(1).max(base + GS_FUNC));
        add_replacement(vm, &mut g, s, ms, me, v)?;
    }
    loop {
        let raw: Option<RawMatch> = {
            let (heap, fuel) = vm.heap_and_fuel();
            let mut hook = Hook::for_matcher(fuel);
            g.next_match(heap.str(s), heap.str(p), &mut |n| hook.step(n))
                .map_err(pattern_err)?
        };
        let Some(m) = raw else { break };
        // Each replacement is a round of bookkeeping (captures, lookups) on top of its bytes.
        charge(vm, Work::Instruction, 2)?;
        match repl {
            Value::Str(r) => {
                // Measured, checked and paid for before the buffer grows.
                let added = {
                    let heap = &vm.heap;
                    pattern::expanded_len(heap.str(s), &m, heap.str(r)).map_err(Throw::msg)?
                };
                let rl = bytes(vm, r).len();
                charge_bytes(vm, added.saturating_add(rl))?;
                grow_check(vm, &g, added)?;
                {
                    let heap = &vm.heap;
                    g.add_expanded(heap.str(s), &m, heap.str(r))
                        .map_err(Throw::msg)?;
                }
            }
            Value::Table(t) => {
                let first = m.capture(0).map_err(Throw::msg)?;
                let key = capture_value(vm, s, first)?;
                match index_peek(vm, Value::Table(t), key)? {
                    Some(v) => add_replacement(vm, &mut g, s, m.start, m.end, v)?,
                    None => {
                        // An `__index` function must run: stack the state, then its call.
                        suspend(vm, base, &g, &m)?;
                        if index_value(vm, Value::Table(t), key, 1)?.is_some() {
                            return Err(Throw::msg("gsub: lost an __index call"));
                        }
                        return Ok(Action::Call {
                            func: base + GS_FUNC,
                            nresults: 1,
                            state: 1,
                        });
                    }
                }
            }
            f => {
                let values = m.values(true).map_err(Throw::msg)?;
                let mut vals = Vec::with_capacity(values.len());
                for c in values {
                    vals.push(capture_value(vm, s, c)?);
                }
                suspend(vm, base, &g, &m)?;
                vm.push(f)?;
                for v in vals {
                    vm.push(v)?;
                }
                return Ok(Action::Call {
                    func: base + GS_FUNC,
                    nresults: 1,
                    state: 1,
                });
            }
        }
    }
    // Done: join the flushed pieces, the buffer and the rest of the subject.
    let n = g.n;
    if !g.changed {
        return ret(vm, &[Value::Str(s), Value::Int(n)]);
    }
    let mut pieces: Vec<StrRef> = Vec::new();
    if call.state != 0 {
        if let Value::Table(t) = vm.stack_get(base + GS_PIECES) {
            // One piece per call made (each paid where it was made); a restored table may
            // hold more: each is looked at only once paid for.
            let k = vm.heap.table(t).border();
            charge(vm, Work::Entries, usize::try_from(k).unwrap_or(0))?;
            for i in 1..=k {
                if let Value::Str(ps) = vm.heap.table(t).get_int(i) {
                    pieces.push(ps);
                }
            }
        }
    }
    let tail = srcl - g.src.min(srcl);
    let total: usize = pieces
        .iter()
        .fold(g.out.len().saturating_add(tail), |n, &ps| {
            n.saturating_add(bytes(vm, ps).len())
        });
    check_memory(vm, total)?;
    charge_bytes(vm, total)?;
    let mut out = Vec::with_capacity(total);
    for ps in pieces {
        out.extend_from_slice(bytes(vm, ps));
    }
    out.extend_from_slice(&g.out);
    out.extend_from_slice(&bytes(vm, s)[g.src.min(srcl)..]);
    let r = vm.intern(&out)?;
    ret(vm, &[r, Value::Int(n)])
}

/// Writes gsub's state to its slots (flushing the output buffer into the pieces table) and
/// leaves the top at the callee slot.
fn suspend(vm: &mut Vm, base: usize, g: &Gsub, m: &RawMatch) -> Result<(), Throw> {
    if vm.top() < base + GS_FUNC {
        vm.set_top(base + GS_FUNC)?;
    }
    vm.set_top(base + GS_FUNC)?;
    let t = match vm.stack_get(base + GS_PIECES) {
        Value::Table(t) => t,
        _ => {
            let t = vm.new_table(4, 0)?;
            vm.stack_set(base + GS_PIECES, Value::Table(t));
            t
        }
    };
    // The piece is a new string, and the slots are written again for each call: priced as
    // the instructions a Lua loop would spend on the same bookkeeping.
    charge(vm, Work::Instruction, 16)?;
    charge_bytes(vm, g.out.len())?;
    if !g.out.is_empty() {
        let piece = new_string(vm, &g.out)?;
        let k = vm.heap.table(t).border() + 1;
        vm.raw_set(t, Value::Int(k), piece)?;
    }
    vm.stack_set(base + 3, Value::Int(g.max_n));
    vm.stack_set(base + GS_SRC, Value::Int(g.src as i64));
    vm.stack_set(
        base + GS_LAST,
        Value::Int(g.lastmatch.map_or(-1, |l| l as i64)),
    );
    vm.stack_set(base + GS_N, Value::Int(g.n));
    vm.stack_set(base + GS_CHANGED, Value::Bool(g.changed));
    vm.stack_set(base + GS_DONE, Value::Bool(g.done));
    vm.stack_set(base + GS_MSTART, Value::Int(m.start as i64));
    vm.stack_set(base + GS_MEND, Value::Int(m.end as i64));
    Ok(())
}

/// Fails with `not enough memory` when gsub's buffer cannot grow by `added` bytes within the
/// bank, before it grows.
fn grow_check(vm: &Vm, g: &Gsub, added: usize) -> Result<(), Throw> {
    let want = g.out.len().saturating_add(added);
    if want > memory_left(vm) {
        return Err(memory_error(vm, want));
    }
    Ok(())
}

/// `add_value` after the replacement function or table gave `v`: appends to the buffer
/// (which grows in place; it is never copied per match).
fn add_replacement(
    vm: &mut Vm,
    g: &mut Gsub,
    s: StrRef,
    ms: usize,
    me: usize,
    v: Value,
) -> Result<(), Throw> {
    if !v.truthy() {
        charge_bytes(vm, me - ms)?;
        grow_check(vm, g, me - ms)?;
        let heap = &vm.heap;
        g.out.extend_from_slice(&heap.str(s)[ms..me]);
        return Ok(());
    }
    match v {
        Value::Str(_) | Value::Int(_) | Value::Float(_) => {
            let r = vm.to_str(v)?.ok_or_else(|| Throw::msg("bad replacement"))?;
            let b = bytes(vm, r).len();
            charge_bytes(vm, b)?;
            grow_check(vm, g, b)?;
            g.out.extend_from_slice(vm.heap.str(r));
            g.changed = true;
            Ok(())
        }
        _ => Err(Throw::msg(format!(
            "invalid replacement value (a {})",
            v.type_name()
        ))),
    }
}

/// `t[k]` through `__index` tables, without side effects: `None` when an `__index` function
/// would have to run.
pub(crate) fn index_peek(vm: &Vm, mut t: Value, k: Value) -> Result<Option<Value>, Throw> {
    for _ in 0..2000 {
        if let Value::Table(tr) = t {
            let v = vm.heap.table(tr).get(k);
            if !v.is_nil() {
                return Ok(Some(v));
            }
        }
        let tm = vm.metamethod(t, MetaMethod::Index);
        if tm.is_nil() {
            if matches!(t, Value::Table(_)) {
                return Ok(Some(Value::Nil));
            }
            return Err(Throw::Plain(format!(
                "attempt to index a {} value",
                type_name(vm, t)
            )));
        }
        if tm.is_function() {
            return Ok(None);
        }
        t = tm;
    }
    Err(Throw::msg("'__index' chain too long; possible loop"))
}

/// Charges for the string arguments of `format` or `pack`: each may be read whole (copied by
/// `%s`, or converted to a number by `%d`/`i`).
fn charge_string_args(vm: &mut Vm, vals: &[Value]) -> Result<(), Throw> {
    let n: usize = vals
        .iter()
        .map(|v| match *v {
            Value::Str(s) => bytes(vm, s).len(),
            _ => 0,
        })
        .sum();
    charge_bytes(vm, n)
}

/// Converts the argument values to the engines' [`Arg`]s (strings borrowed from the heap).
fn to_args<'a>(heap: &'a kernel::heap::Heap, vals: &[Value], names: &'a [String]) -> Vec<Arg<'a>> {
    vals.iter()
        .zip(names)
        .map(|(v, name)| match *v {
            Value::Nil => Arg::Nil,
            Value::Bool(b) => Arg::Bool(b),
            Value::Int(i) => Arg::Int(i),
            Value::Float(f) => Arg::Float(f),
            // `luaL_typeerror` names a string by the string metatable's `__name`, if any.
            Value::Str(s) if name != "string" => Arg::NamedStr(heap.str(s), name),
            Value::Str(s) => Arg::Str(heap.str(s)),
            _ => Arg::Other {
                type_name: name,
                tostring: None,
            },
        })
        .collect()
}

/// `format` waits in state `i + 1` for `__tostring` of value `i` (after the format), called
/// above the count of its arguments.
const FORMAT_RESUMES: Resumable = Resumable {
    protects: false,
    states: &[Resume {
        states: (1, u32::MAX - 1),
        call: CallSlot::Counted { spare: 1 },
        nresults: 1,
    }],
};

fn format_(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let base = call.base;
    let fmt = check_str(vm, &call, 1)?;
    let n = if call.state == 0 {
        nargs(vm, &call)
    } else {
        // Returned from `__tostring` of argument `state` (counting the values from 1):
        // the result replaces the argument; the count of arguments sits below the call.
        let top = vm.top();
        let r = vm.stack_get(top - 1);
        // The count right below the result, counting the values below it; the argument
        // converted is one of them (a restored frame is checked to hold them so; read as it
        // could be anyway).
        let n = usize::try_from(int_at(vm, top.saturating_sub(2)))
            .ok()
            .filter(|&n| base.checked_add(n + 2) == Some(top) && (call.state as usize) < n);
        let Some(n) = n else {
            return Err(Throw::msg("string.format: lost its arguments"));
        };
        let r = match r {
            Value::Str(_) | Value::Int(_) | Value::Float(_) => r,
            _ => return Err(Throw::msg("'__tostring' must return a string")),
        };
        let r = match vm.to_str(r)? {
            Some(sr) => Value::Str(sr),
            None => r,
        };
        vm.stack_set(base + call.state as usize, r);
        vm.set_top(base + n)?;
        n
    };
    // Every value that `%s` will show goes through `luaL_tolstring` first.
    let wanted = format::tostring_args(bytes(vm, fmt));
    for i in wanted {
        let slot = base + 1 + i;
        if slot >= base + n {
            break;
        }
        if (i as u32 + 1) <= call.state && call.state != 0 {
            continue;
        }
        let v = vm.stack_get(slot);
        // `luaL_tolstring` asks every value for `__tostring` first: a string too, when the
        // string metatable has one.
        let tm = vm.metamethod(v, MetaMethod::ToString);
        if tm.is_nil() && matches!(v, Value::Str(_) | Value::Int(_) | Value::Float(_)) {
            continue;
        }
        if !tm.is_nil() {
            vm.push(Value::Int(n as i64))?;
            let func = vm.top();
            vm.push(tm)?;
            vm.push(v)?;
            return Ok(Action::Call {
                func,
                nresults: 1,
                state: i as u32 + 1,
            });
        }
    }
    // Values without `__tostring` are shown by their plain text, made here and never written
    // back over the argument: a step refused memory runs again over the same arguments.
    let mut vals: Vec<Value> = (2..=n).map(|i| vm.stack_get(base + i - 1)).collect();
    for i in format::tostring_args(bytes(vm, fmt)) {
        match vals.get(i).copied() {
            Some(Value::Str(_) | Value::Int(_) | Value::Float(_)) | None => {}
            Some(v) => vals[i] = Value::Str(tostring_basic(vm, v)?),
        }
    }
    crate::budget::charge_items(vm, &vals)?;
    let names: Vec<String> = vals.iter().map(|&v| typeerror_name(vm, v)).collect();
    charge_bytes(vm, bytes(vm, fmt).len())?;
    charge_string_args(vm, &vals)?;
    let mem = memory_left(vm);
    let out = {
        let (heap, fuel) = vm.heap_and_fuel();
        let mut hook = Hook::new(fuel, Some(mem));
        let args = to_args(heap, &vals, &names);
        let pointer = |i: usize| vals.get(i).and_then(|&v| crate::support::pointer(v));
        format::format_with_pointers(heap.str(fmt), &args, &pointer, &mut |k| hook.step(k))
            .map_err(engine_err)?
    };
    ret_str(vm, &out)
}

fn pack_(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let fmt = check_str(vm, &call, 1)?;
    let n = nargs(vm, &call);
    let vals: Vec<Value> = (2..=n).map(|i| arg(vm, &call, i)).collect();
    crate::budget::charge_items(vm, &vals)?;
    let names: Vec<String> = vals.iter().map(|&v| typeerror_name(vm, v)).collect();
    charge_bytes(vm, bytes(vm, fmt).len())?;
    charge_string_args(vm, &vals)?;
    let mem = memory_left(vm);
    let out = {
        let (heap, fuel) = vm.heap_and_fuel();
        let mut hook = Hook::new(fuel, Some(mem));
        let args = to_args(heap, &vals, &names);
        pack::pack(heap.str(fmt), &args, &mut |k| hook.step(k)).map_err(engine_err)?
    };
    ret_str(vm, &out)
}

fn packsize(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let fmt = check_str(vm, &call, 1)?;
    charge_bytes(vm, bytes(vm, fmt).len())?;
    let r = pack::packsize::<Throw>(bytes(vm, fmt)).map_err(engine_err)?;
    ret1(vm, Value::Int(r))
}

fn unpack(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let fmt = check_str(vm, &call, 1)?;
    let data = check_str(vm, &call, 2)?;
    let init = opt_integer(vm, &call, 3, 1)?;
    charge_bytes(vm, bytes(vm, fmt).len())?;
    let mem = memory_left(vm);
    let (values, next) = {
        let (heap, fuel) = vm.heap_and_fuel();
        let mut hook = Hook::new(fuel, Some(mem));
        pack::unpack(heap.str(fmt), heap.str(data), init, &mut |k| hook.step(k))
            .map_err(engine_err)?
    };
    if values.len() >= 1_000_000 {
        return Err(Throw::msg("stack overflow (too many results)"));
    }
    // Each item was decoded by the engine (its bytes paid there) and becomes a value.
    vm.charge((values.len() as u64 + 1).saturating_mul(crate::budget::ITEM_UNITS / 2))?;
    let mut out = Vec::with_capacity(values.len() + 1);
    for v in values {
        out.push(match v {
            pack::Value::Int(i) => Value::Int(i),
            pack::Value::Float(f) => Value::Float(f),
            pack::Value::Str(b) => vm.intern(&b)?,
        });
    }
    out.push(Value::Int(next));
    ret(vm, &out)
}
