//! Argument checking and results for natives, worded as Lua's `lauxlib` words them
//! (`bad argument #1 to 'f' (table expected, got nil)`).

use kernel::number::{float_to_int, FloatToInt, Number};
use kernel::value::{StrRef, TableRef, Value};
use kernel::vm::{Action, NativeCall, Throw, Vm};

/// Number of arguments on first entry.
#[inline]
pub fn nargs(vm: &Vm, call: &NativeCall) -> usize {
    vm.top().saturating_sub(call.base)
}

/// Argument `i` (1-based); nil when absent.
#[inline]
pub fn arg(vm: &Vm, call: &NativeCall, i: usize) -> Value {
    if i == 0 || i > nargs(vm, call) {
        Value::Nil
    } else {
        vm.stack_get(call.base + i - 1)
    }
}

/// Type name for "got X" (honours `__name`, as `luaL_typeerror`).
pub fn type_name(vm: &Vm, v: Value) -> String {
    kernel::vm::debug::type_name_for_message(vm, v)
}

/// Type name for `luaL_typeerror`: the `__name` of any value's metatable — a string's too,
/// unlike the interpreter's messages, which take it only from tables and userdata.
pub fn typeerror_name(vm: &Vm, v: Value) -> String {
    match vm.metamethod(v, kernel::metamethod::MetaMethod::Name) {
        Value::Str(s) => String::from_utf8_lossy(vm.heap.str(s)).into_owned(),
        _ => v.type_name().to_string(),
    }
}

/// `bad argument #i (<expected> expected, got <type>)`.
pub fn type_error(vm: &Vm, call: &NativeCall, i: usize, expected: &str) -> Throw {
    let got = if i > nargs(vm, call) {
        "no value".to_string()
    } else {
        typeerror_name(vm, arg(vm, call, i))
    };
    Throw::bad_arg(i, format!("{expected} expected, got {got}"))
}

pub fn check_any(vm: &Vm, call: &NativeCall, i: usize) -> Result<Value, Throw> {
    if i > nargs(vm, call) {
        return Err(Throw::bad_arg(i, "value expected"));
    }
    Ok(arg(vm, call, i))
}

pub fn check_table(vm: &Vm, call: &NativeCall, i: usize) -> Result<TableRef, Throw> {
    match arg(vm, call, i) {
        Value::Table(t) => Ok(t),
        _ => Err(type_error(vm, call, i, "table")),
    }
}

/// Charges for converting `v` to a number when it is a string (per byte read).
///
/// # Errors
/// `Throw::OutOfFuel`.
pub fn charge_coercion(vm: &mut Vm, v: Value) -> Result<(), Throw> {
    if let Value::Str(s) = v {
        let n = vm.heap.str(s).len();
        vm.charge_work(kernel::cost::Work::Bytes, n)?;
    }
    Ok(())
}

pub fn check_number(vm: &mut Vm, call: &NativeCall, i: usize) -> Result<Number, Throw> {
    let v = arg(vm, call, i);
    charge_coercion(vm, v)?;
    match vm.to_number(v) {
        Some(n) => Ok(n),
        None => Err(type_error(vm, call, i, "number")),
    }
}

pub fn check_integer(vm: &mut Vm, call: &NativeCall, i: usize) -> Result<i64, Throw> {
    let v = arg(vm, call, i);
    charge_coercion(vm, v)?;
    match vm.to_number(v) {
        Some(Number::Int(n)) => Ok(n),
        Some(Number::Float(f)) => match float_to_int(f, FloatToInt::Exact) {
            Some(n) => Ok(n),
            None => Err(Throw::bad_arg(i, "number has no integer representation")),
        },
        None => Err(type_error(vm, call, i, "number")),
    }
}

pub fn opt_integer(vm: &mut Vm, call: &NativeCall, i: usize, default: i64) -> Result<i64, Throw> {
    if arg(vm, call, i).is_nil() {
        Ok(default)
    } else {
        check_integer(vm, call, i)
    }
}

pub fn opt_number(vm: &mut Vm, call: &NativeCall, i: usize) -> Result<Option<Number>, Throw> {
    if arg(vm, call, i).is_nil() {
        Ok(None)
    } else {
        check_number(vm, call, i).map(Some)
    }
}

/// A string argument; numbers are converted, as `luaL_checklstring` does.
pub fn check_str(vm: &mut Vm, call: &NativeCall, i: usize) -> Result<StrRef, Throw> {
    let v = arg(vm, call, i);
    match v {
        Value::Str(s) => Ok(s),
        Value::Int(_) | Value::Float(_) => {
            let s = vm
                .to_str(v)?
                .ok_or_else(|| type_error(vm, call, i, "string"))?;
            vm.stack_set(call.base + i - 1, Value::Str(s));
            Ok(s)
        }
        _ => Err(type_error(vm, call, i, "string")),
    }
}

pub fn opt_str(vm: &mut Vm, call: &NativeCall, i: usize) -> Result<Option<StrRef>, Throw> {
    if arg(vm, call, i).is_nil() {
        Ok(None)
    } else {
        check_str(vm, call, i).map(Some)
    }
}

/// Pushes `values` and returns them.
pub fn ret(vm: &mut Vm, values: &[Value]) -> Result<Action, Throw> {
    for &v in values {
        vm.push(v)?;
    }
    Ok(Action::Return(values.len()))
}

/// Returns one value.
pub fn ret1(vm: &mut Vm, v: Value) -> Result<Action, Throw> {
    vm.push(v)?;
    Ok(Action::Return(1))
}

/// A string result.
pub fn ret_str(vm: &mut Vm, bytes: &[u8]) -> Result<Action, Throw> {
    let v = vm.intern(bytes)?;
    ret1(vm, v)
}

/// A pseudo address of a reference value, for `tostring` and `%p`: stable for the object's
/// life, and the same in a restored process. A long string's is its object number's
/// (`StrRef::object`), so two long strings with the same bytes differ, as in Lua.
pub fn pointer(v: Value) -> Option<u64> {
    let (tag, index) = match v {
        Value::Table(r) => (1u64, r.index()),
        Value::LuaFn(r) => (2, r.index()),
        Value::Native(r) => (3, r.index()),
        Value::UserData(r) => (4, r.index()),
        Value::Thread(r) => (5, r.index()),
        // Above every other tag's range: object numbers go up to 2^32.
        Value::Str(r) if r.object() != 0 => (7, r.object() as usize),
        Value::Str(r) => (6, r.index()),
        _ => return None,
    };
    Some(0x5555_0000_0000u64 + (tag << 36) + index as u64 * 64)
}

/// `0x…` text of `pointer` for reference values other than strings.
pub fn address(v: Value) -> Option<String> {
    match v {
        Value::Str(_) => None,
        _ => pointer(v).map(|p| format!("0x{p:014x}")),
    }
}

/// Pushes `f(args…)` and asks the VM to call it; the native is entered again with `state`
/// and the results at the top of the stack.
///
/// # Errors
/// Stack overflow or out of memory while pushing.
pub fn call_lua(
    vm: &mut Vm,
    f: Value,
    args: &[Value],
    nresults: i32,
    state: u32,
) -> Result<Action, Throw> {
    let func = vm.top();
    vm.push(f)?;
    for &a in args {
        vm.push(a)?;
    }
    Ok(Action::Call {
        func,
        nresults,
        state,
    })
}

/// `tostring` without metamethods: numbers, strings, booleans, nil, and `type: 0x…` (or
/// `__name: 0x…`).
pub fn tostring_basic(vm: &mut Vm, v: Value) -> Result<StrRef, Throw> {
    let s = match v {
        Value::Nil => "nil".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(_) | Value::Float(_) | Value::Str(_) => {
            return vm.to_str(v)?.ok_or_else(|| Throw::msg("bad number"));
        }
        _ => {
            // The `__name` is copied into the result.
            vm.charge_work(kernel::cost::Work::Bytes, crate::budget::name_bytes(vm, v))?;
            let name = match vm.metamethod(v, kernel::metamethod::MetaMethod::Name) {
                Value::Str(s) => String::from_utf8_lossy(vm.heap.str(s)).into_owned(),
                _ => v.type_name().to_string(),
            };
            format!("{}: {}", name, address(v).unwrap_or_default())
        }
    };
    Ok(vm.heap.intern(s.as_bytes())?)
}

/// `caps[field]` and its method `method`, if the process holds a key there (of kind `kind`,
/// when given: the metatable's `__name`). Keys keep their methods in their metatable's
/// `__index` table.
pub fn caps_key_method(
    vm: &mut Vm,
    field: &[u8],
    method: &[u8],
    kind: Option<&[u8]>,
) -> Result<Option<(Value, Value)>, Throw> {
    let Value::Table(caps) = vm.get_global("caps") else {
        return Ok(None);
    };
    let k = vm.intern(field)?;
    let key = vm.raw_get(caps, k);
    let Some(mt) = vm.metatable(key) else {
        return Ok(None);
    };
    if let Some(kind) = kind {
        let name = vm.intern(b"__name")?;
        if vm.str_bytes(vm.raw_get(mt, name)) != Some(kind) {
            return Ok(None);
        }
    }
    let index = vm.intern(b"__index")?;
    let Value::Table(methods) = vm.raw_get(mt, index) else {
        return Ok(None);
    };
    let m = vm.intern(method)?;
    let f = vm.raw_get(methods, m);
    Ok(f.is_function().then_some((f, key)))
}
