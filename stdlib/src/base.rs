//! The basic library (Lua 5.4 manual §6.1): `print`, `type`, `tostring`, `tonumber`, `pairs`,
//! `ipairs`, `next`, `select`, the raw accessors, metatables, `pcall`/`xpcall`/`error`/`assert`,
//! `load` (text chunks only) and `collectgarbage`. No `dofile`, `loadfile` or `require`: a
//! process reaches nothing outside itself except through its keys.

use crate::budget::charge_bytes;
use crate::support::*;
use crate::Lib;
use kernel::compiler::CompileError;
use kernel::cost::Work;
use kernel::heap::frame::flags;
use kernel::metamethod::MetaMethod;
use kernel::number::str_to_number;
use kernel::value::Value;
use kernel::vm::native::{CallSlot, Resumable, Resume};
use kernel::vm::{Action, NativeCall, Throw, Vm, STATE_ERROR};

pub const LIB: Lib = Lib {
    switches: &[],
    resumable: &[
        ("print", &PRINT_RESUMES),
        ("tostring", &TOSTRING_RESUMES),
        ("pairs", &PAIRS_RESUMES),
        ("ipairs.iterator", &IPAIRS_RESUMES),
        ("pcall", &PCALL_RESUMES),
        ("xpcall", &XPCALL_RESUMES),
        ("load", &LOAD_RESUMES),
    ],
    name: None,
    functions: &[
        ("print", print, NO_YIELD),
        ("type", type_, 0),
        ("tostring", tostring, NO_YIELD),
        ("tonumber", tonumber, 0),
        ("pairs", pairs, 0),
        ("ipairs", ipairs, 0),
        ("next", next, 0),
        ("select", select, 0),
        ("rawget", rawget, 0),
        ("rawset", rawset, 0),
        ("rawequal", rawequal, 0),
        ("rawlen", rawlen, 0),
        ("setmetatable", setmetatable, 0),
        ("getmetatable", getmetatable, 0),
        ("pcall", pcall, 0),
        ("xpcall", xpcall, 0),
        ("error", error, 0),
        ("assert", assert, 0),
        ("load", load, NO_YIELD),
        ("collectgarbage", collectgarbage, 0),
    ],
    open: None,
    hidden: &[("ipairs.iterator", ipairs_iterator, NO_YIELD)],
};

/// Checks a `__tostring` result; a number is accepted and converted, as `lua_tolstring`
/// does, so `tostring` always returns a string.
fn tostring_result(vm: &mut Vm, v: Value) -> Result<Value, Throw> {
    match v {
        Value::Str(_) => Ok(v),
        Value::Int(_) | Value::Float(_) => Ok(vm.to_str(v)?.map_or(v, Value::Str)),
        _ => Err(Throw::msg("'__tostring' must return a string")),
    }
}

/// `print` waits for `__tostring` of argument `k` in state `k + 1` (its result lands above
/// the count), and for `caps.console:write` in `PRINT_WROTE` (called from its base).
const PRINT_RESUMES: Resumable = Resumable {
    protects: false,
    states: &[
        Resume {
            states: (1, PRINT_WROTE - 1),
            call: CallSlot::Counted { spare: 0 },
            nresults: 1,
        },
        Resume::one(PRINT_WROTE, CallSlot::At(0), 0),
    ],
};

fn print(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    // Layout: the n arguments, then Int(n); a __tostring call for argument k is pushed above
    // them and its result lands right after Int(n). State k+1 means that call returned.
    if call.state == PRINT_WROTE {
        return Ok(Action::Return(0));
    }
    let (n, mut k) = if call.state == 0 {
        let n = nargs(vm, &call);
        vm.push(Value::Int(n as i64))?;
        (n, 0)
    } else {
        let top = vm.top();
        let k = call.state as usize - 1;
        // The count right below the result, counting the values below it (a restored frame
        // is checked to hold them so; read as it could be anyway).
        let n = match vm.stack_get(top.saturating_sub(2)) {
            Value::Int(n) => usize::try_from(n)
                .ok()
                .filter(|&n| call.base.checked_add(n + 2) == Some(top) && k < n),
            _ => None,
        };
        let Some(n) = n else {
            return Err(Throw::msg("print: lost its arguments"));
        };
        let r = vm.stack_get(top - 1);
        let r = tostring_result(vm, r)?;
        vm.stack_set(call.base + k, r);
        vm.set_top(top - 1)?;
        (n, k + 1)
    };
    while k < n {
        let v = vm.stack_get(call.base + k);
        let tm = vm.metamethod(v, MetaMethod::ToString);
        if !tm.is_nil() {
            return call_lua(vm, tm, &[v], 1, k as u32 + 1);
        }
        k += 1;
    }
    // Values without `__tostring` are shown by their plain text, made here and never written
    // back over the argument: a step refused memory runs again over the same arguments.
    let mut out: Vec<u8> = Vec::new();
    for i in 0..n {
        if i > 0 {
            out.push(b'\t');
        }
        let v = vm.stack_get(call.base + i);
        let s = match v {
            Value::Str(s) => s,
            v => tostring_basic(vm, v)?,
        };
        out.extend_from_slice(vm.heap.str(s));
    }
    out.push(b'\n');
    vm.charge_work(Work::Bytes, out.len())?;
    if vm.has_console() {
        vm.console_write(&out);
        return Ok(Action::Return(0));
    }
    // Without a console of its own, a process prints through `caps.console`, if it holds
    // one (DESIGN: print writes to the console key); otherwise printing does nothing.
    let write = crate::support::caps_key_method(vm, b"console", b"write", None)?;
    match write {
        Some((f, console)) => {
            let text = vm.intern(&out)?;
            vm.set_top(call.base)?;
            call_lua(vm, f, &[console, text], 0, PRINT_WROTE)
        }
        None => Ok(Action::Return(0)),
    }
}

/// `print`'s state once `caps.console:write` returned (it returns nothing, reading nothing).
const PRINT_WROTE: u32 = u32::MAX - 2;

fn type_(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let v = check_any(vm, &call, 1)?;
    ret_str(vm, v.type_name().as_bytes())
}

/// `tostring` waits for `__tostring`, called above its arguments.
const TOSTRING_RESUMES: Resumable = Resumable {
    protects: false,
    states: &[Resume::one(1, CallSlot::From(1), 1)],
};

fn tostring(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    if call.state == 1 {
        let r = vm.stack_get(vm.top() - 1);
        let r = tostring_result(vm, r)?;
        return ret1(vm, r);
    }
    let v = check_any(vm, &call, 1)?;
    let tm = vm.metamethod(v, MetaMethod::ToString);
    if !tm.is_nil() {
        return call_lua(vm, tm, &[v], 1, 1);
    }
    let s = tostring_basic(vm, v)?;
    ret1(vm, Value::Str(s))
}

fn tonumber(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    if arg(vm, &call, 2).is_nil() {
        let v = check_any(vm, &call, 1)?;
        // Converting reads every byte of a string.
        charge_coercion(vm, v)?;
        let r = match v {
            Value::Int(_) | Value::Float(_) => v,
            Value::Str(s) => match str_to_number(vm.heap.str(s)) {
                Some(n) => Value::from_number(n),
                None => Value::Nil,
            },
            _ => Value::Nil,
        };
        return ret1(vm, r);
    }
    let base = check_integer(vm, &call, 2)?;
    let v = arg(vm, &call, 1);
    let Value::Str(s) = v else {
        return Err(type_error(vm, &call, 1, "string"));
    };
    if !(2..=36).contains(&base) {
        return Err(Throw::bad_arg(2, "base out of range"));
    }
    charge_coercion(vm, v)?;
    let bytes = vm.heap.str(s);
    let r = parse_in_base(bytes, base as u32)
        .map(Value::Int)
        .unwrap_or(Value::Nil);
    ret1(vm, r)
}

/// `tonumber(s, base)`: optional spaces, optional `-`, digits of the base, optional spaces.
fn parse_in_base(s: &[u8], base: u32) -> Option<i64> {
    let mut i = 0;
    let is_space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut n: i64 = 0;
    while i < s.len() {
        let d = (s[i] as char).to_digit(36)?;
        if d >= base {
            return None;
        }
        n = n.wrapping_mul(base as i64).wrapping_add(d as i64);
        i += 1;
        if i < s.len() && is_space(s[i]) {
            break;
        }
    }
    if i == start {
        return None;
    }
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    if i != s.len() {
        return None;
    }
    Some(if neg { n.wrapping_neg() } else { n })
}

/// `pairs` waits for `__pairs` (three results), called above its arguments.
const PAIRS_RESUMES: Resumable = Resumable {
    protects: false,
    states: &[Resume::one(1, CallSlot::From(1), 3)],
};

fn pairs(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    if call.state == 1 {
        // __pairs returned: keep exactly three results.
        let top = vm.top();
        let func = top.saturating_sub(3);
        let vals = [
            vm.stack_get(func),
            vm.stack_get(func + 1),
            vm.stack_get(func + 2),
        ];
        return ret(vm, &vals);
    }
    let t = check_any(vm, &call, 1)?;
    let tm = vm.metamethod(t, MetaMethod::Pairs);
    if !tm.is_nil() {
        return call_lua(vm, tm, &[t], 3, 1);
    }
    // No check here: as in Lua, a bad argument surfaces in `next` (the "for iterator").
    let next = vm.get_global_native("next")?;
    ret(vm, &[next, t, Value::Nil])
}

fn next(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let t = check_table(vm, &call, 1)?;
    let k = arg(vm, &call, 2);
    vm.charge(1)?;
    // Raised by the table inside a native: the reference's message has no position.
    let entry = vm.table_next(t, k).map_err(|e| match e {
        Throw::Message(m) => Throw::Plain(m),
        e => e,
    })?;
    match entry {
        Some((k, v)) => ret(vm, &[k, v]),
        None => ret1(vm, Value::Nil),
    }
}

fn ipairs(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let t = check_any(vm, &call, 1)?;
    let id = vm
        .natives()
        .id_of("ipairs.iterator")
        .ok_or_else(|| Throw::msg("ipairs iterator missing"))?;
    let f = vm.native_value(id, Vec::new())?;
    ret(vm, &[f, t, Value::Int(0)])
}

/// The `ipairs` iterator waits for an `__index` function, called above its two arguments.
const IPAIRS_RESUMES: Resumable = Resumable {
    protects: false,
    states: &[Resume::one(1, CallSlot::From(2), 1)],
};

fn ipairs_iterator(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    if call.state == 1 {
        let v = vm.stack_get(vm.top() - 1);
        let i = arg(vm, &call, 2);
        if v.is_nil() {
            return ret1(vm, Value::Nil);
        }
        return ret(vm, &[i, v]);
    }
    let i = check_integer(vm, &call, 2)?.wrapping_add(1);
    let t = arg(vm, &call, 1);
    vm.stack_set(call.base + 1, Value::Int(i));
    if let Value::Table(tr) = t {
        let v = vm.heap.table(tr).get_int(i);
        if !v.is_nil() || vm.heap.table(tr).metatable.is_none() {
            return if v.is_nil() {
                ret1(vm, Value::Nil)
            } else {
                ret(vm, &[Value::Int(i), v])
            };
        }
    }
    // Slow path through __index (ipairs respects metamethods in 5.4).
    match index_value(vm, t, Value::Int(i), 1)? {
        Some(v) => {
            if v.is_nil() {
                ret1(vm, Value::Nil)
            } else {
                ret(vm, &[Value::Int(i), v])
            }
        }
        None => Ok(Action::Call {
            func: vm.top() - 3,
            nresults: 1,
            state: 1,
        }),
    }
}

/// `t[k]` with `__index`, for natives. Returns the value, or `None` after pushing a call of
/// the `__index` function (`func, t, k` at the top) for the caller to start with `state`.
pub fn index_value(
    vm: &mut Vm,
    mut t: Value,
    k: Value,
    _state: u32,
) -> Result<Option<Value>, Throw> {
    for _ in 0..2000 {
        let tm = match t {
            Value::Table(tr) => {
                let v = vm.heap.table(tr).get(k);
                if !v.is_nil() {
                    return Ok(Some(v));
                }
                let tm = vm.metamethod(t, MetaMethod::Index);
                if tm.is_nil() {
                    return Ok(Some(Value::Nil));
                }
                tm
            }
            _ => {
                let tm = vm.metamethod(t, MetaMethod::Index);
                if tm.is_nil() {
                    return Err(Throw::Plain(format!(
                        "attempt to index a {} value",
                        type_name(vm, t)
                    )));
                }
                tm
            }
        };
        if tm.is_function() {
            vm.push(tm)?;
            vm.push(t)?;
            vm.push(k)?;
            return Ok(None);
        }
        t = tm;
    }
    Err(Throw::msg("'__index' chain too long; possible loop"))
}

fn select(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let n = nargs(vm, &call) as i64 - 1;
    if let Value::Str(s) = arg(vm, &call, 1) {
        if vm.heap.str(s) == b"#" {
            return ret1(vm, Value::Int(n));
        }
    }
    let i = check_integer(vm, &call, 1)?;
    let start = if i < 0 {
        if i.unsigned_abs() > n as u64 {
            return Err(Throw::bad_arg(1, "index out of range"));
        }
        n + i
    } else if i == 0 {
        return Err(Throw::bad_arg(1, "index out of range"));
    } else {
        (i - 1).min(n)
    };
    // The results are moved down to the frame's base, one by one.
    vm.charge_work(Work::Values, (n - start) as usize)?;
    Ok(Action::Return((n - start) as usize))
}

fn rawget(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let t = check_table(vm, &call, 1)?;
    let k = check_any(vm, &call, 2)?;
    let v = vm.raw_get(t, k);
    ret1(vm, v)
}

fn rawset(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let t = check_table(vm, &call, 1)?;
    let k = check_any(vm, &call, 2)?;
    let v = check_any(vm, &call, 3)?;
    // The key errors come from the table itself, as in the reference (no position: the
    // running function is a native).
    vm.raw_set(t, k, v).map_err(|e| match e {
        Throw::Message(m) => Throw::Plain(m),
        e => e,
    })?;
    ret1(vm, Value::Table(t))
}

fn rawequal(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let a = check_any(vm, &call, 1)?;
    let b = check_any(vm, &call, 2)?;
    ret1(vm, Value::Bool(a.raw_eq(b)))
}

fn rawlen(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let n = match arg(vm, &call, 1) {
        Value::Table(t) => vm.heap.table(t).border(),
        Value::Str(s) => vm.heap.str(s).len() as i64,
        _ => return Err(type_error(vm, &call, 1, "table or string")),
    };
    ret1(vm, Value::Int(n))
}

fn setmetatable(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let t = check_table(vm, &call, 1)?;
    let mt = match arg(vm, &call, 2) {
        Value::Nil if nargs(vm, &call) >= 2 => None,
        Value::Table(m) => Some(m),
        _ => return Err(type_error(vm, &call, 2, "nil or table")),
    };
    if let Some(old) = vm.heap.table(t).metatable {
        if !vm.meta_field(old, MetaMethod::Metatable).is_nil() {
            return Err(Throw::msg("cannot change a protected metatable"));
        }
    }
    vm.set_metatable(t, mt)?;
    ret1(vm, Value::Table(t))
}

fn getmetatable(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let v = check_any(vm, &call, 1)?;
    let r = match vm.metatable(v) {
        None => Value::Nil,
        Some(mt) => {
            let protected = vm.meta_field(mt, MetaMethod::Metatable);
            if protected.is_nil() {
                Value::Table(mt)
            } else {
                protected
            }
        }
    };
    ret1(vm, r)
}

/// `pcall` waits for its function, moved above `true`.
const PCALL_RESUMES: Resumable = Resumable {
    protects: true,
    states: &[Resume::one(1, CallSlot::At(1), -1)],
};

/// `xpcall` waits for its function, moved above the handler and `true`.
const XPCALL_RESUMES: Resumable = Resumable {
    protects: true,
    states: &[Resume::one(1, CallSlot::At(3), -1)],
};

fn pcall(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    match call.state {
        0 => {
            check_any(vm, &call, 1)?;
            // [f, args…] → [true, f, args…]; f's results land after `true`.
            let top = vm.top();
            vm.push(Value::Nil)?;
            for i in (call.base..top).rev() {
                let v = vm.stack_get(i);
                vm.stack_set(i + 1, v);
            }
            vm.stack_set(call.base, Value::Bool(true));
            vm.protect_current_frame();
            Ok(Action::Call {
                func: call.base + 1,
                nresults: -1,
                state: 1,
            })
        }
        STATE_ERROR => {
            let err = vm.stack_get(vm.top() - 1);
            vm.set_top(call.base)?;
            ret(vm, &[Value::Bool(false), err])
        }
        _ => Ok(Action::Return(vm.top().saturating_sub(call.base))),
    }
}

fn xpcall(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    match call.state {
        0 => {
            if !arg(vm, &call, 2).is_function() {
                return Err(type_error(vm, &call, 2, "function"));
            }
            // [f, msgh, args…] → [f, msgh, true, f, args…]; the handler stays at base+1.
            let top = vm.top();
            let f = arg(vm, &call, 1);
            vm.push(Value::Nil)?;
            vm.push(Value::Nil)?;
            for i in (call.base + 2..top).rev() {
                let v = vm.stack_get(i);
                vm.stack_set(i + 2, v);
            }
            vm.stack_set(call.base + 2, Value::Bool(true));
            vm.stack_set(call.base + 3, f);
            vm.protect_current_frame();
            Ok(Action::Call {
                func: call.base + 3,
                nresults: -1,
                state: 1,
            })
        }
        STATE_ERROR => {
            let err = vm.stack_get(vm.top() - 1);
            vm.set_top(call.base)?;
            ret(vm, &[Value::Bool(false), err])
        }
        // `true` and the results above the function and its handler (a restored frame may
        // hold less: it returns what it has).
        _ => Ok(Action::Return(
            vm.top().saturating_sub(call.base).saturating_sub(2),
        )),
    }
}

fn error(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let v = arg(vm, &call, 1);
    let level = opt_integer(vm, &call, 2, 1)?;
    if let Value::Str(s) = v {
        if level > 0 {
            let pos = kernel::vm::debug::where_(vm, level as usize);
            if !pos.is_empty() {
                // The message is copied behind its position.
                charge_bytes(vm, vm.heap.str(s).len())?;
                let mut msg = pos.into_bytes();
                msg.extend_from_slice(vm.heap.str(s));
                let m = vm.intern(&msg)?;
                return Err(Throw::Value(m));
            }
        }
    }
    Err(Throw::Value(v))
}

fn assert(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let v = check_any(vm, &call, 1)?;
    if v.truthy() {
        return Ok(Action::Return(nargs(vm, &call)));
    }
    let msg = if nargs(vm, &call) >= 2 {
        arg(vm, &call, 2)
    } else {
        vm.intern(b"assertion failed!")?
    };
    // Like `error(msg)`: a string message gets the caller's position.
    if let Value::Str(s) = msg {
        let pos = kernel::vm::debug::where_(vm, 1);
        if !pos.is_empty() {
            charge_bytes(vm, vm.heap.str(s).len())?;
            let mut m = pos.into_bytes();
            m.extend_from_slice(vm.heap.str(s));
            return Err(Throw::Value(vm.intern(&m)?));
        }
    }
    Err(Throw::Value(msg))
}

/// `load` waits for its reader, called above its five slots (chunk, name, mode, env, the
/// text so far) and whether it was given an environment.
const LOAD_RESUMES: Resumable = Resumable {
    protects: true,
    states: &[Resume::one(1, CallSlot::At(6), 1)],
};

fn load(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    // State 0: start. State 1: the reader function returned a piece (on top).
    // While reading, the pieces are accumulated in a string kept at base+4 (slot 5).
    let n = nargs(vm, &call);
    if call.state == 0 {
        let chunk = arg(vm, &call, 1);
        if !matches!(chunk, Value::Str(_)) && !chunk.is_function() {
            return Err(type_error(vm, &call, 1, "function"));
        }
        // Normalize the argument slots: chunk, chunkname, mode, env, buffer.
        let has_env = n >= 4;
        vm.set_top(call.base + 6)?;
        // The text-so-far slot says a reader is used: never an extra argument's value.
        vm.stack_set(call.base + 4, Value::Nil);
        vm.stack_set(call.base + 5, Value::Bool(has_env));
        match chunk {
            Value::Str(_) => return finish_load(vm, &call),
            v if v.is_function() => {
                let empty = vm.intern(b"")?;
                vm.stack_set(call.base + 4, empty);
                // Errors raised by the reader are load's result, not its caller's.
                vm.protect_current_frame();
                return call_lua(vm, v, &[], 1, 1);
            }
            _ => return Err(type_error(vm, &call, 1, "function")),
        }
    }
    if call.state == STATE_ERROR {
        let err = vm.stack_get(vm.top() - 1);
        vm.set_top(call.base)?;
        return ret(vm, &[Value::Nil, err]);
    }
    // A piece arrived (numbers are strings to the reader protocol).
    let mut piece = vm.stack_get(vm.top() - 1);
    if let Value::Int(_) | Value::Float(_) = piece {
        piece = vm.to_str(piece)?.map(Value::Str).unwrap_or(Value::Nil);
    }
    vm.set_top(call.base + 6)?;
    match piece {
        Value::Nil => {}
        Value::Str(s) if vm.heap.str(s).is_empty() => {}
        Value::Str(s) => {
            let Value::Str(buf) = vm.stack_get(call.base + 4) else {
                return Err(Throw::msg("load buffer lost"));
            };
            // Paid, and checked against the bank, before the copy is made.
            let len = vm.heap.str(buf).len().saturating_add(vm.heap.str(s).len());
            vm.charge_work(Work::Bytes, len)?;
            crate::budget::check_memory(vm, len)?;
            let mut joined = vm.heap.str(buf).to_vec();
            joined.extend_from_slice(vm.heap.str(s));
            let j = vm.intern(&joined)?;
            vm.stack_set(call.base + 4, j);
            let func = vm.top();
            let reader = vm.stack_get(call.base);
            vm.push(reader)?;
            return Ok(Action::Call {
                func,
                nresults: 1,
                state: 1,
            });
        }
        _ => {
            vm.set_top(call.base)?;
            let m = vm.intern(b"reader function must return a string")?;
            return ret(vm, &[Value::Nil, m]);
        }
    }
    let buf = vm.stack_get(call.base + 4);
    vm.stack_set(call.base, buf);
    finish_load(vm, &call)
}

fn finish_load(vm: &mut Vm, call: &NativeCall) -> Result<Action, Throw> {
    let chunk = vm.stack_get(call.base);
    let Value::Str(src) = chunk else {
        return Err(Throw::msg("load: no chunk"));
    };
    let is_reader = !matches!(vm.stack_get(call.base + 4), Value::Nil);
    let name = match vm.stack_get(call.base + 1) {
        Value::Str(s) => vm.heap.str(s).to_vec(),
        Value::Nil => {
            if is_reader {
                b"=(load)".to_vec()
            } else {
                vm.heap.str(src).to_vec()
            }
        }
        _ => return Err(type_error(vm, call, 2, "string")),
    };
    let mode = match vm.stack_get(call.base + 2) {
        Value::Str(s) => vm.heap.str(s).to_vec(),
        Value::Nil => b"bt".to_vec(),
        _ => return Err(type_error(vm, call, 3, "string")),
    };
    let source = vm.heap.str(src).to_vec();
    let binary = source.first() == Some(&0x1b);
    let fail = |vm: &mut Vm, msg: &[u8]| -> Result<Action, Throw> {
        vm.set_top(call.base)?;
        let m = vm.intern(msg)?;
        ret(vm, &[Value::Nil, m])
    };
    if binary {
        if !mode.contains(&b'b') {
            return fail(
                vm,
                format!(
                    "attempt to load a binary chunk (mode is '{}')",
                    String::from_utf8_lossy(&mode)
                )
                .as_bytes(),
            );
        }
        return fail(vm, b"binary chunks are not supported by Tessera");
    }
    if !mode.contains(&b't') {
        return fail(
            vm,
            format!(
                "attempt to load a text chunk (mode is '{}')",
                String::from_utf8_lossy(&mode)
            )
            .as_bytes(),
        );
    }
    vm.charge(10 + Work::SourceBytes.units_of(source.len()))?;
    // The compiler works in host memory before the prototype is charged: make sure the bank
    // could hold what it builds (a prototype takes at most a few times its source's size).
    crate::budget::check_memory(vm, source.len().saturating_mul(3))?;
    // The compiler's steps are paid as it takes them: it stops at what the meter can pay.
    let available = vm.fuel_available();
    let limit = available.saturating_mul(Work::Compiler.per_unit());
    match kernel::compiler::compile_within(&source, &name, limit) {
        Err(CompileError::OverBudget { spent }) => {
            vm.charge_work(Work::Compiler, spent as usize)?;
            // Needs more than it had: refused until a refuel gives more than that, then
            // compiled again from the start.
            Err(vm
                .charge(available.saturating_add(1))
                .err()
                .unwrap_or(Throw::OutOfFuel))
        }
        Ok((proto, steps)) => {
            vm.charge_work(Work::Compiler, steps as usize)?;
            let has_env = vm.stack_get(call.base + 5).truthy();
            let env = if has_env {
                Some(vm.stack_get(call.base + 3))
            } else {
                None
            };
            let f = vm.load(&proto, env)?;
            vm.set_top(call.base)?;
            ret1(vm, f)
        }
        Err(CompileError::Syntax(e)) => fail(vm, &e.message),
    }
}

fn collectgarbage(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let opt = match opt_str(vm, &call, 1)? {
        Some(s) => String::from_utf8_lossy(vm.heap.str(s)).into_owned(),
        None => "collect".into(),
    };
    match opt.as_str() {
        "collect" => {
            vm.charge(100 + vm.collection_price())?;
            vm.full_gc();
            ret1(vm, Value::Int(0))
        }
        "count" => {
            let kb = vm.heap.bank.used() as f64 / 1024.0;
            ret1(vm, Value::Float(kb))
        }
        "step" => {
            vm.charge(100 + vm.collection_price())?;
            vm.full_gc();
            ret1(vm, Value::Bool(true))
        }
        "isrunning" => {
            let r = !vm.heap.gc.stopped;
            ret1(vm, Value::Bool(r))
        }
        "stop" => {
            vm.heap.gc.stopped = true;
            ret1(vm, Value::Int(0))
        }
        "restart" => {
            vm.heap.gc.stopped = false;
            ret1(vm, Value::Int(0))
        }
        "incremental" | "generational" => {
            let prev = vm.registry_mode(&opt)?;
            ret_str(vm, prev.as_bytes())
        }
        "setpause" => ret1(vm, Value::Int(200)),
        "setstepmul" => ret1(vm, Value::Int(100)),
        _ => Err(Throw::bad_arg(1, format!("invalid option '{opt}'"))),
    }
}

/// Helpers the VM does not need but the library does.
pub trait VmExt {
    fn get_global_native(&mut self, name: &str) -> Result<Value, Throw>;
    fn registry_mode(&mut self, new: &str) -> Result<String, Throw>;
}

impl VmExt for Vm {
    /// The library's own copy of a base function (so `pairs` returns the real `next` even if the
    /// global was replaced).
    fn get_global_native(&mut self, name: &str) -> Result<Value, Throw> {
        let id = self
            .natives()
            .id_of(name)
            .ok_or_else(|| Throw::msg(format!("{name} missing")))?;
        self.native_value(id, Vec::new())
    }

    /// Records the collector mode name and returns the previous one.
    fn registry_mode(&mut self, new: &str) -> Result<String, Throw> {
        let key = self.intern(b"gc.mode")?;
        let prev = match self.raw_get(self.registry, key) {
            Value::Str(s) => String::from_utf8_lossy(self.heap.str(s)).into_owned(),
            // lua.c switches the collector to generational mode at start-up.
            _ => "generational".to_string(),
        };
        let v = self.intern(new.as_bytes())?;
        self.raw_set(self.registry, key, v)?;
        Ok(prev)
    }
}

/// Whether the frame flags mark natives that cannot be yielded across.
pub const NO_YIELD: u8 = flags::NO_YIELD;
