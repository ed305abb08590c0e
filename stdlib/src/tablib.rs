//! The table library (Lua 5.4 manual §6.6) as natives.
//!
//! Tables without `__index`/`__newindex`/`__len` are handled with raw operations. Otherwise
//! the native computes the length itself (calling `__len` as a continuation) and runs the
//! element loops through small Lua helpers (compiled once per process and kept in the
//! registry), so that every `t[i]` honours the metamethods exactly as `lua_geti`/`lua_seti`
//! do while the VM stays stackless.
//!
//! `table.sort` is Lua's `auxsort` as an explicit state machine over a table accessed with
//! raw operations (the table itself, or — when it has metamethods — a copy made and written
//! back by helpers), so the sequence of comparisons, and therefore the results with
//! inconsistent comparators and the `invalid order function for sorting` error, are those of
//! lua5.4 (except that the pivot re-randomisation lua5.4 takes from the clock is a fixed
//! value here). Comparator and `__lt` calls are `Action::Call` continuations; the machine's
//! registers live in a table on the stack.

use crate::base::NO_YIELD;
use crate::budget::{charge, charge_bytes, check_memory};
use crate::support::*;
use crate::Lib;
use kernel::cost::Work;
use kernel::metamethod::MetaMethod;
use kernel::number::{float_to_int, str_to_number, FloatToInt, Number};
use kernel::value::{TableRef, Value};
use kernel::vm::native::{CallSlot, Resumable, Resume};
use kernel::vm::{Action, NativeCall, Throw, Vm};

pub const LIB: Lib = Lib {
    switches: &[],
    resumable: &[
        ("table.concat", &CONCAT_RESUMES),
        ("table.insert", &INSERT_RESUMES),
        ("table.remove", &REMOVE_RESUMES),
        ("table.move", &MOVE_RESUMES),
        ("table.unpack", &UNPACK_RESUMES),
        ("table.sort", &SORT_RESUMES),
    ],
    name: Some("table"),
    functions: &[
        ("concat", concat, NO_YIELD),
        ("insert", insert, NO_YIELD),
        ("move", move_, NO_YIELD),
        ("pack", pack, 0),
        ("remove", remove, NO_YIELD),
        ("sort", sort, NO_YIELD),
        ("unpack", unpack, NO_YIELD),
    ],
    hidden: &[("table.checkpoint", checkpoint, 0)],
    open: None,
};

const TAB_R: u8 = 1;
const TAB_W: u8 = 2;
const TAB_L: u8 = 4;

/// Returns nothing: called by natives to save their progress between two slices.
fn checkpoint(_vm: &mut Vm, _call: NativeCall) -> Result<Action, Throw> {
    Ok(Action::Return(0))
}

/// `checktab`: a table, or a value whose metatable has the needed fields.
fn checktab(vm: &Vm, call: &NativeCall, i: usize, what: u8) -> Result<Value, Throw> {
    let v = arg(vm, call, i);
    if matches!(v, Value::Table(_)) {
        return Ok(v);
    }
    if let Some(mt) = vm.metatable(v) {
        let ok = (what & TAB_R == 0 || !vm.meta_field(mt, MetaMethod::Index).is_nil())
            && (what & TAB_W == 0 || !vm.meta_field(mt, MetaMethod::NewIndex).is_nil())
            && (what & TAB_L == 0 || !vm.meta_field(mt, MetaMethod::Len).is_nil());
        if ok {
            return Ok(v);
        }
    }
    Err(type_error(vm, call, i, "table"))
}

/// A table whose element accesses and length need no metamethod.
fn plain(vm: &Vm, v: Value) -> Option<TableRef> {
    let Value::Table(t) = v else { return None };
    match vm.heap.table(t).metatable {
        None => Some(t),
        Some(mt) => {
            if vm.meta_field(mt, MetaMethod::Index).is_nil()
                && vm.meta_field(mt, MetaMethod::NewIndex).is_nil()
                && vm.meta_field(mt, MetaMethod::Len).is_nil()
            {
                Some(t)
            } else {
                None
            }
        }
    }
}

/// `luaL_len`: the length, or `None` after pushing a call of `__len` (result: one value, to
/// be checked with [`len_result`]).
fn len_of(vm: &mut Vm, v: Value) -> Result<Option<i64>, Throw> {
    let tm = vm.metamethod(v, MetaMethod::Len);
    if !tm.is_nil() {
        vm.push(tm)?;
        vm.push(v)?;
        return Ok(None);
    }
    match v {
        Value::Table(t) => Ok(Some(vm.heap.table(t).border())),
        Value::Str(s) => Ok(Some(vm.heap.str(s).len() as i64)),
        _ => Err(Throw::Plain(format!(
            "attempt to get length of a {} value",
            type_name(vm, v)
        ))),
    }
}

/// Checks a `__len` result as `luaL_len` does.
fn len_result(vm: &Vm, v: Value) -> Result<i64, Throw> {
    let n = match v {
        Value::Int(i) => Some(i),
        Value::Float(f) => float_to_int(f, FloatToInt::Exact),
        Value::Str(s) => match str_to_number(vm.heap.str(s)) {
            Some(Number::Int(i)) => Some(i),
            Some(Number::Float(f)) => float_to_int(f, FloatToInt::Exact),
            None => None,
        },
        _ => None,
    };
    n.ok_or_else(|| Throw::msg("object length is not an integer"))
}

/// Lua helpers for tables with metamethods. Each is a chunk taking its arguments in `...`.
const HELPERS: &[(&str, &str)] = &[
    (
        "insert",
        "local t, e, pos, v = ... for i = e, pos + 1, -1 do t[i] = t[i - 1] end t[pos] = v",
    ),
    (
        "remove",
        "local t, size, pos = ... local r = t[pos] \
         while pos < size do t[pos] = t[pos + 1] pos = pos + 1 end t[pos] = nil return r",
    ),
    (
        "move",
        "local a1, f, e, t, a2, up = ... local n = e - f \
         if up then for i = 0, n do a2[t + i] = a1[f + i] end \
         else for i = n, 0, -1 do a2[t + i] = a1[f + i] end end return a2",
    ),
    (
        "collect",
        "local t, i, e = ... local w = {} local k = 1 \
         while true do w[k] = t[i] k = k + 1 if i == e then break end i = i + 1 end return w",
    ),
    ("sort", SORT_HELPER),
];

/// `table.sort` of what may call Lua (a comparator, `__lt`, the table's own metamethods):
/// lua5.4's `auxsort` and `partition` line for line, every read and write of the table and
/// every comparison in lua5.4's order. A comparator call is then a Lua call from Lua, where
/// from a native machine it cost two frame entries and a machine entry per comparison
/// (bench/README.md). `rnd` starts at 0; lua5.4's `l_randomizePivot` is `FIXED_RANDOM`, its
/// `RANLIMIT` the machine's.
const SORT_HELPER: &str = "local a, n, lt, random, ranlimit = ...
if lt == nil then lt = function(x, y) return x < y end end
local function auxsort(a, lt, lo, up, rnd)
  while lo < up do
    local x, y = a[lo], a[up]
    if lt(y, x) then a[lo] = y a[up] = x end
    if up - lo == 1 then break end
    local p
    if up - lo < ranlimit or rnd == 0 then p = (lo + up) // 2
    else local r4 = (up - lo) // 4 p = rnd % (r4 * 2) + (lo + r4) end
    x, y = a[p], a[lo]
    if lt(x, y) then a[p] = y a[lo] = x
    else
      y = a[up]
      if lt(y, x) then a[p] = y a[up] = x end
    end
    if up - lo == 2 then break end
    local pivot = a[p]
    a[p] = a[up - 1] a[up - 1] = pivot
    local last = up - 1
    local i, j = lo, last
    while true do
      i = i + 1
      local ai = a[i]
      while lt(ai, pivot) do
        if i == last then error('invalid order function for sorting') end
        i = i + 1 ai = a[i]
      end
      j = j - 1
      local aj = a[j]
      while lt(pivot, aj) do
        if j < i then error('invalid order function for sorting') end
        j = j - 1 aj = a[j]
      end
      if j < i then a[last] = ai a[i] = pivot p = i break end
      a[i] = aj a[j] = ai
    end
    local smaller
    if p - lo < up - p then
      auxsort(a, lt, lo, p - 1, rnd) smaller = p - lo lo = p + 1
    else
      auxsort(a, lt, p + 1, up, rnd) smaller = up - p up = p - 1
    end
    if (up - lo) // 128 > smaller then rnd = random end
  end
end
auxsort(a, lt, 1, n, 0)";

/// The helper `name`, compiled on first use and cached in the registry.
fn helper(vm: &mut Vm, name: &str) -> Result<Value, Throw> {
    let key = vm.intern(format!("tablib.{name}").as_bytes())?;
    let f = vm.raw_get(vm.registry, key);
    if !f.is_nil() {
        return Ok(f);
    }
    let src = HELPERS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
        .ok_or_else(|| Throw::msg("table helper missing"))?;
    let proto = kernel::compiler::compile(src.as_bytes(), b"=[C]")
        .map_err(|e| Throw::msg(String::from_utf8_lossy(&e.message).into_owned()))?;
    // Its globals: only the `error` native (as `luaL_error`, whatever the program made of
    // the global of that name).
    let env = vm.new_table(0, 1)?;
    let id = vm
        .natives()
        .id_of("error")
        .ok_or_else(|| Throw::msg("error missing"))?;
    let error = vm.native_value(id, Vec::new())?;
    let name = vm.intern(b"error")?;
    vm.raw_set(env, name, error)?;
    let f = vm.load_library_helper(&proto, Some(Value::Table(env)))?;
    vm.raw_set(vm.registry, key, f)?;
    Ok(f)
}

/// Pushes a call of helper `name` with `args` and returns the action.
fn call_helper(
    vm: &mut Vm,
    name: &str,
    args: &[Value],
    nresults: i32,
    state: u32,
) -> Result<Action, Throw> {
    let f = helper(vm, name)?;
    crate::support::call_lua(vm, f, args, nresults, state)
}

fn raw_geti(vm: &Vm, t: TableRef, i: i64) -> Value {
    vm.heap.table(t).get_int(i)
}

fn raw_seti(vm: &mut Vm, t: TableRef, i: i64, v: Value) -> Result<(), Throw> {
    vm.raw_set(t, Value::Int(i), v)
}

// ----- concat -----------------------------------------------------------------------------

/// `concat` waits for `__len` (state 1) or the collect helper (state 2), both called above
/// its four slots (table, separator, first index, count).
const CONCAT_RESUMES: Resumable = Resumable {
    protects: false,
    states: &[
        Resume::one(1, CallSlot::At(4), 1),
        Resume::one(2, CallSlot::At(4), 1),
    ],
};

fn concat(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let base = call.base;
    match call.state {
        0 => {
            let t = checktab(vm, &call, 1, TAB_R | TAB_L)?;
            opt_str(vm, &call, 2)?;
            let i = opt_integer(vm, &call, 3, 1)?;
            vm.set_top(base + 4)?;
            vm.stack_set(base + 2, Value::Int(i));
            if arg(vm, &call, 4).is_nil() {
                match len_of(vm, t)? {
                    Some(n) => concat_range(vm, base, n),
                    None => Ok(Action::Call {
                        func: base + 4,
                        nresults: 1,
                        state: 1,
                    }),
                }
            } else {
                let j = check_integer(vm, &call, 4)?;
                concat_range(vm, base, j)
            }
        }
        1 => {
            let n = len_result(vm, vm.stack_get(base + 4))?;
            vm.set_top(base + 4)?;
            concat_range(vm, base, n)
        }
        _ => {
            // The collect helper returned the values i..j in a fresh table.
            let Value::Table(w) = vm.stack_get(base + 4) else {
                return Err(Throw::msg("table.concat: lost its values"));
            };
            // At least one value was collected (a restored frame may say otherwise).
            let n = int_at(vm, base + 3);
            if n < 1 {
                return Err(Throw::msg("table.concat: lost its values"));
            }
            concat_join(vm, base, w, 1, n, int_at(vm, base + 2))
        }
    }
}

fn int_at(vm: &Vm, i: usize) -> i64 {
    match vm.stack_get(i) {
        Value::Int(n) => n,
        _ => 0,
    }
}

/// `concat` over `t[i..=j]` (i at base+2).
fn concat_range(vm: &mut Vm, base: usize, j: i64) -> Result<Action, Throw> {
    let i = int_at(vm, base + 2);
    if i > j {
        return ret_str(vm, b"");
    }
    let t = vm.stack_get(base);
    match plain(vm, t) {
        Some(tr) => concat_join(vm, base, tr, i, j, i),
        None => {
            vm.stack_set(base + 3, Value::Int(j.wrapping_sub(i).wrapping_add(1)));
            call_helper(vm, "collect", &[t, Value::Int(i), Value::Int(j)], 1, 2)
        }
    }
}

/// Entries looked at per charge while `concat` measures its result.
const CONCAT_CHUNK: i64 = 1024;
/// The price of writing a number as `tostring` does (`%.14g` for floats), in instructions;
/// `concat` writes each number twice (to measure, then to copy).
const NUMBER_TO_STRING: usize = 40;

/// The bytes of a `concat` element: a string, or a number as `tostring` writes it.
enum Piece {
    Str(kernel::value::StrRef),
    Num(String),
}

/// `w[k]` as a piece of `concat`'s result, or the error naming index `idx`.
fn concat_piece(vm: &Vm, w: TableRef, k: i64, idx: i64) -> Result<Piece, Throw> {
    let v = raw_geti(vm, w, k);
    match v {
        Value::Str(s) => Ok(Piece::Str(s)),
        Value::Int(_) | Value::Float(_) => Ok(Piece::Num(
            v.as_number()
                .map(kernel::number::number_to_string)
                .unwrap_or_default(),
        )),
        // `luaL_typename` in ltablib.c: the plain type, never `__name`.
        _ => Err(Throw::msg(format!(
            "invalid value ({}) at index {} in table for 'concat'",
            v.type_name(),
            idx
        ))),
    }
}

fn piece_len(vm: &Vm, p: &Piece) -> usize {
    match p {
        Piece::Str(s) => vm.heap.str(*s).len(),
        Piece::Num(n) => n.len(),
    }
}

/// Joins `w[a..=b]` with the separator; `first` is the index reported in errors for `a`.
/// The result is measured first (charged per entry as it goes), then the memory bank is
/// checked and the copy charged per byte, before a single byte is copied.
fn concat_join(
    vm: &mut Vm,
    base: usize,
    w: TableRef,
    a: i64,
    b: i64,
    first: i64,
) -> Result<Action, Throw> {
    let sep = match vm.stack_get(base + 1) {
        Value::Str(s) => Some(s),
        _ => None,
    };
    let lsep = sep.map_or(0, |s| vm.heap.str(s).len());
    let mut total: usize = 0;
    let mut k = a;
    loop {
        if (k.wrapping_sub(a)) % CONCAT_CHUNK == 0 {
            let left = (b as i128 - k as i128 + 1).min(CONCAT_CHUNK as i128) as usize;
            charge(vm, Work::Entries, left)?;
        }
        let idx = first.wrapping_add(k.wrapping_sub(a));
        let piece = concat_piece(vm, w, k, idx)?;
        if let Piece::Num(_) = piece {
            charge(vm, Work::Instruction, 2 * NUMBER_TO_STRING)?;
        }
        total = total.saturating_add(piece_len(vm, &piece));
        if k == b {
            break;
        }
        total = total.saturating_add(lsep);
        k += 1;
    }
    check_memory(vm, total)?;
    charge_bytes(vm, total)?;
    let mut out: Vec<u8> = Vec::new();
    out.try_reserve_exact(total)
        .map_err(|_| crate::budget::memory_error(vm, total))?;
    let mut k = a;
    loop {
        match concat_piece(vm, w, k, k)? {
            Piece::Str(s) => out.extend_from_slice(vm.heap.str(s)),
            Piece::Num(n) => out.extend_from_slice(n.as_bytes()),
        }
        if k == b {
            break;
        }
        if let Some(s) = sep {
            out.extend_from_slice(vm.heap.str(s));
        }
        k += 1;
    }
    ret_str(vm, &out)
}

// ----- insert / remove --------------------------------------------------------------------

/// `insert` waits for `__len` (state 1) or the insert helper (state 2), called above its
/// three arguments and their count.
const INSERT_RESUMES: Resumable = Resumable {
    protects: false,
    states: &[
        Resume::one(1, CallSlot::At(4), 1),
        Resume::one(2, CallSlot::At(4), 0),
    ],
};

/// `remove` waits for `__len` (state 1) or the remove helper (state 2), called above its two
/// arguments.
const REMOVE_RESUMES: Resumable = Resumable {
    protects: false,
    states: &[
        Resume::one(1, CallSlot::At(2), 1),
        Resume::one(2, CallSlot::At(2), 1),
    ],
};

fn insert(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let base = call.base;
    let (n, size) = match call.state {
        0 => {
            let t = checktab(vm, &call, 1, TAB_R | TAB_W | TAB_L)?;
            let n = nargs(vm, &call);
            vm.set_top(base + 4)?;
            vm.stack_set(base + 3, Value::Int(n as i64));
            match len_of(vm, t)? {
                Some(size) => (n, size),
                None => {
                    return Ok(Action::Call {
                        func: base + 4,
                        nresults: 1,
                        state: 1,
                    })
                }
            }
        }
        1 => {
            let size = len_result(vm, vm.stack_get(base + 4))?;
            vm.set_top(base + 4)?;
            (int_at(vm, base + 3) as usize, size)
        }
        _ => return Ok(Action::Return(0)),
    };
    let e = size.wrapping_add(1);
    let t = vm.stack_get(base);
    let (pos, v) = match n {
        2 => (e, vm.stack_get(base + 1)),
        3 => {
            let pos = check_integer_at(vm, &call, 2)?;
            if (pos as u64).wrapping_sub(1) >= e as u64 {
                return Err(Throw::bad_arg(2, "position out of bounds"));
            }
            (pos, vm.stack_get(base + 2))
        }
        _ => return Err(Throw::msg("wrong number of arguments to 'insert'")),
    };
    match plain(vm, t) {
        Some(tr) => {
            // The moves made: none when a length from `__len` (the metatable since removed)
            // or a restored frame put `e` below `pos`.
            charge(vm, Work::Entries, 1 + e.saturating_sub(pos).max(0) as usize)?;
            // In one move when the array part holds every key, as the loop would.
            let moved = pos < e
                && vm.heap.own_table_mut(tr).is_some_and(|t| {
                    t.move_within_array(pos as usize, pos as usize + 1, (e - pos) as usize)
                });
            let mut i = if moved { pos } else { e };
            while i > pos {
                let x = raw_geti(vm, tr, i - 1);
                raw_seti(vm, tr, i, x)?;
                i -= 1;
            }
            raw_seti(vm, tr, pos, v)?;
            Ok(Action::Return(0))
        }
        None => call_helper(vm, "insert", &[t, Value::Int(e), Value::Int(pos), v], 0, 2),
    }
}

/// `check_integer` on a stack slot that may lie above the original arguments.
fn check_integer_at(vm: &mut Vm, call: &NativeCall, i: usize) -> Result<i64, Throw> {
    let v = vm.stack_get(call.base + i - 1);
    charge_coercion(vm, v)?;
    match vm.to_number(v) {
        Some(Number::Int(n)) => Ok(n),
        Some(Number::Float(f)) => float_to_int(f, FloatToInt::Exact)
            .ok_or_else(|| Throw::bad_arg(i, "number has no integer representation")),
        // `luaL_typeerror`: the `__name` of any value's metatable, a string's too.
        None => Err(Throw::bad_arg(
            i,
            format!("number expected, got {}", typeerror_name(vm, v)),
        )),
    }
}

fn remove(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let base = call.base;
    let size = match call.state {
        0 => {
            let t = checktab(vm, &call, 1, TAB_R | TAB_W | TAB_L)?;
            vm.set_top(base + 2)?;
            match len_of(vm, t)? {
                Some(size) => size,
                None => {
                    return Ok(Action::Call {
                        func: base + 2,
                        nresults: 1,
                        state: 1,
                    })
                }
            }
        }
        1 => {
            let size = len_result(vm, vm.stack_get(base + 2))?;
            vm.set_top(base + 2)?;
            size
        }
        _ => return Ok(Action::Return(1)),
    };
    let t = vm.stack_get(base);
    let mut pos = if vm.stack_get(base + 1).is_nil() {
        size
    } else {
        check_integer_at(vm, &call, 2)?
    };
    if pos != size && (pos as u64).wrapping_sub(1) > size as u64 {
        return Err(Throw::bad_arg(1, "position out of bounds"));
    }
    match plain(vm, t) {
        Some(tr) => {
            charge(
                vm,
                Work::Entries,
                1 + size.wrapping_sub(pos).unsigned_abs() as usize,
            )?;
            let r = raw_geti(vm, tr, pos);
            // In one move when the array part holds every key, as the loop would.
            if pos >= 1
                && pos < size
                && vm.heap.own_table_mut(tr).is_some_and(|t| {
                    t.move_within_array(pos as usize + 1, pos as usize, (size - pos) as usize)
                })
            {
                pos = size;
            }
            while pos < size {
                let x = raw_geti(vm, tr, pos + 1);
                raw_seti(vm, tr, pos, x)?;
                pos += 1;
            }
            raw_seti(vm, tr, pos, Value::Nil)?;
            ret1(vm, r)
        }
        None => call_helper(vm, "remove", &[t, Value::Int(size), Value::Int(pos)], 1, 2),
    }
}

// ----- move ---------------------------------------------------------------------------------

/// Elements moved per entry before a checkpoint.
const MOVE_CHUNK: i64 = 1 << 14;

/// `move` waits at a checkpoint between chunks or after a refused write (state 1, above its
/// nine slots: the tables, its registers) or for the move helper (state 2, above the
/// destination).
const MOVE_RESUMES: Resumable = Resumable {
    protects: false,
    states: &[
        Resume::one(1, CallSlot::At(9), 0),
        Resume::one(2, CallSlot::At(5), 1),
    ],
};

fn move_(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let base = call.base;
    if call.state == 2 {
        // The helper returned the destination.
        return Ok(Action::Return(1));
    }
    let mut m = if call.state == 0 {
        let f = check_integer(vm, &call, 2)?;
        let e = check_integer(vm, &call, 3)?;
        let t = check_integer(vm, &call, 4)?;
        let tt = if arg(vm, &call, 5).is_nil() { 1 } else { 5 };
        checktab(vm, &call, 1, TAB_R)?;
        checktab(vm, &call, tt, TAB_W)?;
        let a1 = arg(vm, &call, 1);
        let a2 = arg(vm, &call, tt);
        vm.set_top(base + 9)?;
        vm.stack_set(base + 4, a2);
        if e < f {
            vm.set_top(base + 5)?;
            return Ok(Action::Return(1));
        }
        if !(f > 0 || e < i64::MAX.wrapping_add(f)) {
            return Err(Throw::bad_arg(3, "too many elements to move"));
        }
        let n = e.wrapping_sub(f); // elements minus one
        if t > i64::MAX - n {
            return Err(Throw::bad_arg(4, "destination wrap around"));
        }
        let up = t > e || t <= f || (tt != 1 && !a1.raw_eq(a2));
        let (Some(a1), Some(a2)) = (plain(vm, a1), plain(vm, a2)) else {
            vm.set_top(base + 5)?;
            return call_helper(
                vm,
                "move",
                &[
                    a1,
                    Value::Int(f),
                    Value::Int(e),
                    Value::Int(t),
                    a2,
                    Value::Bool(up),
                ],
                1,
                2,
            );
        };
        // The checkpoint between chunks, made now (once per VM) rather than at the first
        // stop, which a cut may bring earlier than an uninterrupted run would.
        checkpoint_value(vm)?;
        // The registers stay in hand until the first chunk is paid and moved: until then the
        // arguments are as they were, for an entry after a refusal.
        Mover {
            a1,
            a2,
            f,
            t,
            n,
            up,
            done: 0,
            paid: 0,
        }
    } else {
        Mover::saved(vm, base)?
    };
    if m.done == m.paid {
        let chunk = ((m.n - m.done) as u64 + 1).min(MOVE_CHUNK as u64);
        charge(vm, Work::Entries, chunk as usize)?;
        m.paid = m.done + chunk as i64;
    }
    // A write may be refused (the fuel or memory of a rehash): refused before any move of
    // this entry, the entry is taken up again as it was entered (its chunk paid again);
    // after some, those are kept and the chunk goes on from a checkpoint.
    let entered = m.done;
    let mut cut = false;
    while m.done < m.paid {
        let i = if m.up { m.done } else { m.n - m.done };
        let v = raw_geti(vm, m.a1, m.f.wrapping_add(i));
        match raw_seti(vm, m.a2, m.t.wrapping_add(i), v) {
            Ok(()) => m.done += 1,
            Err(e @ (Throw::OutOfFuel | Throw::Memory(_))) if m.done == entered => return Err(e),
            Err(Throw::OutOfFuel) => {
                cut = true;
                break;
            }
            Err(Throw::Memory(_)) => break,
            Err(e) => return Err(e),
        }
    }
    if m.done > m.n {
        vm.set_top(base + 5)?;
        return Ok(Action::Return(1));
    }
    m.save(vm, base);
    if cut {
        // Stopped by the meter, not at a chunk's end: no checkpoint call, which would be a
        // boundary (a collection) an uninterrupted run does not have here.
        vm.set_top(base + 9)?;
        return Ok(Action::Stop { state: 1 });
    }
    let cp = checkpoint_value(vm)?;
    vm.set_top(base + 9)?;
    vm.push(cp)?;
    Ok(Action::Call {
        func: base + 9,
        nresults: 0,
        state: 1,
    })
}

/// `table.move` between plain tables, a chunk at a time: `a1[f + i]` to `a2[t + i]` for `i`
/// in `0..=n`, upwards or downwards; `done` moved, the first `paid` paid for.
struct Mover {
    a1: TableRef,
    a2: TableRef,
    f: i64,
    t: i64,
    n: i64,
    up: bool,
    done: i64,
    paid: i64,
}

impl Mover {
    /// The registers as `save` wrote them above the tables (a restored frame's may hold
    /// anything: what they must satisfy is checked).
    fn saved(vm: &Vm, base: usize) -> Result<Mover, Throw> {
        let slots = [1, 2, 3, 6, 7].map(|k| vm.stack_get(base + k));
        let (
            Value::Table(a1),
            Value::Table(a2),
            [Value::Int(f), Value::Int(t), Value::Int(n), Value::Int(done), Value::Int(paid)],
        ) = (vm.stack_get(base), vm.stack_get(base + 4), slots)
        else {
            return Err(Throw::msg("table.move: lost its state"));
        };
        // State 0 makes `0 <= n < i64::MAX` and `t + n` fit; `done <= paid <= n + 1`, a chunk
        // apart at most.
        let fits = (0..i64::MAX).contains(&n)
            && t.checked_add(n).is_some()
            && (0..=n).contains(&done)
            && (done..=n + 1).contains(&paid)
            && paid - done <= MOVE_CHUNK;
        if !fits {
            return Err(Throw::msg("table.move: lost its state"));
        }
        Ok(Mover {
            a1,
            a2,
            f,
            t,
            n,
            up: vm.stack_get(base + 5).truthy(),
            done,
            paid,
        })
    }

    fn save(&self, vm: &mut Vm, base: usize) {
        vm.stack_set(base, Value::Table(self.a1));
        vm.stack_set(base + 4, Value::Table(self.a2));
        for (k, v) in [
            (1, self.f),
            (2, self.t),
            (3, self.n),
            (6, self.done),
            (7, self.paid),
        ] {
            vm.stack_set(base + k, Value::Int(v));
        }
        vm.stack_set(base + 5, Value::Bool(self.up));
    }
}

// ----- pack / unpack ------------------------------------------------------------------------

fn pack(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let n = nargs(vm, &call);
    charge(vm, Work::Values, n)?;
    charge(vm, Work::Entries, n)?;
    let t = vm.new_table(n, 1)?;
    for i in 0..n {
        let v = vm.stack_get(call.base + i);
        raw_seti(vm, t, i as i64 + 1, v)?;
    }
    let k = vm.intern(b"n")?;
    vm.raw_set(t, k, Value::Int(n as i64))?;
    ret1(vm, Value::Table(t))
}

/// `unpack` waits for `__len` (state 1) or the collect helper (state 2), called above its
/// three slots (table, first index, count).
const UNPACK_RESUMES: Resumable = Resumable {
    protects: false,
    states: &[
        Resume::one(1, CallSlot::At(3), 1),
        Resume::one(2, CallSlot::At(3), 1),
    ],
};

fn unpack(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let base = call.base;
    let (i, e) = match call.state {
        0 => {
            let i = opt_integer(vm, &call, 2, 1)?;
            let t = arg(vm, &call, 1);
            let e = if arg(vm, &call, 3).is_nil() {
                vm.set_top(base + 3)?;
                vm.stack_set(base + 1, Value::Int(i));
                match len_of(vm, t)? {
                    Some(n) => n,
                    None => {
                        return Ok(Action::Call {
                            func: base + 3,
                            nresults: 1,
                            state: 1,
                        })
                    }
                }
            } else {
                check_integer(vm, &call, 3)?
            };
            (i, e)
        }
        1 => {
            let e = len_result(vm, vm.stack_get(base + 3))?;
            (int_at(vm, base + 1), e)
        }
        _ => {
            let Value::Table(w) = vm.stack_get(vm.top() - 1) else {
                return Err(Throw::msg("table.unpack: lost its values"));
            };
            // The count state 0 checked (a restored frame's may be anything).
            let n = int_at(vm, base + 2);
            if !(1..kernel::vm::MAX_STACK as i64).contains(&n) {
                return Err(Throw::msg("table.unpack: lost its values"));
            }
            vm.set_top(base + 3)?;
            return push_range(vm, w, 1, n);
        }
    };
    if i > e {
        return Ok(Action::Return(0));
    }
    let n = (e as u64).wrapping_sub(i as u64);
    if n >= i32::MAX as u64 || n as usize + 1 >= kernel::vm::MAX_STACK.saturating_sub(vm.top()) {
        return Err(Throw::msg("too many results to unpack"));
    }
    let t = vm.stack_get(base);
    vm.set_top(base + 3)?;
    match plain(vm, t) {
        Some(tr) => push_range(vm, tr, i, e),
        None => {
            vm.stack_set(base + 2, Value::Int(n as i64 + 1));
            call_helper(vm, "collect", &[t, Value::Int(i), Value::Int(e)], 1, 2)
        }
    }
}

fn push_range(vm: &mut Vm, t: TableRef, i: i64, e: i64) -> Result<Action, Throw> {
    let n = (e as u64).wrapping_sub(i as u64) as usize + 1;
    charge(vm, Work::Values, n)?;
    vm.ensure_stack(vm.top() + n)?;
    let mut k = i;
    loop {
        let v = raw_geti(vm, t, k);
        vm.push(v)?;
        if k == e {
            break;
        }
        k += 1;
    }
    Ok(Action::Return(n))
}

// ----- sort -----------------------------------------------------------------------------------

/// lsort's `RANLIMIT`.
const RANLIMIT: u32 = 100;
/// Stand-in for `l_randomizePivot` (lua5.4 mixes `clock()` and `time()`).
const FIXED_RANDOM: u32 = 0x2545_f491;
/// The price of one machine step, in instructions: a step reads and writes the machine's
/// registers and the table's elements.
const SORT_STEP_PRICE: usize = 2;

// The machine's registers live in its native frame's stack slots, from `S_PC` on, in
// this order (`Regs`): read and written there as plain values, for the price of a stack
// access, where a table's would cost several times that on every comparison.
const S_PC: usize = 4;
const S_LO: usize = 5;
const S_UP: usize = 6;
const S_RND: usize = 7;
const S_P: usize = 8;
const S_I: usize = 9;
const S_J: usize = 10;
/// The number of pending ranges; they follow in the register table from `R_STACK`, four values
/// each.
const S_SP: usize = 11;
const S_V1: usize = 12;
const S_V2: usize = 13;
const S_PIV: usize = 14;

// What is touched only at a stop, in the register table (1-based keys).
/// A comparison put off because the meter could not pay for it: its operands and the program
/// counter that takes its result (`PC_CMP` resumes it).
const R_NEXT: i64 = 14;
const R_CA: i64 = 15;
const R_CB: i64 = 16;
const R_STACK: i64 = 20;
/// A cut: the machine stopped at a step the meter refused (not at its step limit). The steps
/// its entry had taken (the entry after the cut goes on counting them), and, when a refused
/// comparison stopped it, how many chunks of it were paid (its step was paid too): a cut
/// run pays what one uninterrupted entry pays, nothing twice.
const R_CUT: i64 = 17;
const R_CUT_PAID: i64 = 18;

// Program counters of the machine.
const PC_LOOP: i64 = 0;
const PC_C1: i64 = 1;
const PC_C2: i64 = 2;
const PC_C3: i64 = 3;
const PC_AFTER3: i64 = 4;
const PC_PART_I: i64 = 5;
const PC_C4: i64 = 6;
const PC_PART_J: i64 = 7;
const PC_C5: i64 = 8;
const PC_END: i64 = 9;
const PC_DONE: i64 = 10;
const PC_CMP: i64 = 11;

// Stack slots (offsets from the first argument): table, comparator, register table, length,
// the registers (above), then the callee.
const S_REGS: usize = 2;
const S_LEN: usize = 3;
const S_FUNC: usize = 15;

// States.
const ST_LEN: u32 = 1;
const ST_SORTED_IN_LUA: u32 = 2;
const ST_CHECKPOINT: u32 = 3;
const R_RES: i64 = 13;

/// `sort` waits, always above its fifteen slots, for `__len` (`ST_LEN`), the sort in Lua
/// (`ST_SORTED_IN_LUA`), or, after a cut, for fuel (`ST_CHECKPOINT`). Its machine's registers
/// live in its frame's slots and a table, which a restored frame may have filled with
/// anything: the machine computes with them without overflow, every step paid for, so at
/// worst it sorts wrongly or fails.
const SORT_RESUMES: Resumable = Resumable {
    protects: false,
    states: &[
        Resume::one(ST_LEN, CallSlot::At(S_FUNC), 1),
        Resume::one(ST_SORTED_IN_LUA, CallSlot::At(S_FUNC), 0),
        Resume::one(ST_CHECKPOINT, CallSlot::At(S_FUNC), 0),
    ],
};

struct Sorter {
    regs: TableRef,
    w: TableRef,
}

// Called for every register a comparison changes: inlined, whole-program LTO left them out
// of line (table_sort +5%).
impl Sorter {
    #[inline]
    fn get(&self, vm: &Vm, r: i64) -> i64 {
        match vm.heap.table(self.regs).get_int(r) {
            Value::Int(n) => n,
            _ => 0,
        }
    }
    #[inline]
    fn getv(&self, vm: &Vm, r: i64) -> Value {
        vm.heap.table(self.regs).get_int(r)
    }
    #[inline]
    fn set(&self, vm: &mut Vm, r: i64, v: i64) -> Result<(), Throw> {
        vm.raw_set_int(self.regs, r, Value::Int(v))
    }
    #[inline]
    fn setv(&self, vm: &mut Vm, r: i64, v: Value) -> Result<(), Throw> {
        vm.raw_set_int(self.regs, r, v)
    }
    #[inline]
    fn a(&self, vm: &Vm, i: i64) -> Value {
        vm.heap.table(self.w).get_int(i)
    }
    #[inline]
    fn seta(&self, vm: &mut Vm, i: i64, v: Value) -> Result<(), Throw> {
        vm.raw_set_int(self.w, i, v)
    }
}

/// The machine's registers while an entry runs: read from their stack slots when it is
/// entered and written back, those that changed, whenever it leaves to be entered again (a
/// call, a checkpoint, a cut), so a stopped sort is still plain data in its frame. Between
/// two exits nothing but this entry reads them, and no collection runs inside an entry, so
/// the values held here (`v1`, `v2`, `piv`) need no other root.
#[derive(Clone, Copy)]
struct Regs {
    pc: i64,
    lo: i64,
    up: i64,
    rnd: i64,
    p: i64,
    i: i64,
    j: i64,
    sp: i64,
    v1: Value,
    v2: Value,
    piv: Value,
}

impl Regs {
    /// The registers of the frame at `base` (a restored frame may hold anything there: what
    /// is not an integer reads as 0).
    fn load(vm: &Vm, base: usize) -> Regs {
        const N: usize = S_PIV + 1 - S_PC;
        let Some(slots) = vm.stack_array::<N>(base + S_PC) else {
            // Not all live (a restored frame's top may be anywhere): all nil.
            return Regs::load_from(&[Value::Nil; N]);
        };
        Regs::load_from(slots)
    }

    #[inline]
    fn load_from(slots: &[Value; S_PIV + 1 - S_PC]) -> Regs {
        let int = |slot: usize| match slots[slot - S_PC] {
            Value::Int(n) => n,
            _ => 0,
        };
        Regs {
            pc: int(S_PC),
            lo: int(S_LO),
            up: int(S_UP),
            rnd: int(S_RND),
            p: int(S_P),
            i: int(S_I),
            j: int(S_J),
            sp: int(S_SP),
            v1: slots[S_V1 - S_PC],
            v2: slots[S_V2 - S_PC],
            piv: slots[S_PIV - S_PC],
        }
    }

    /// Writes back what changed since `entered`, with `pc` as the program counter.
    #[inline]
    fn store(&self, entered: &Regs, vm: &mut Vm, base: usize, pc: i64) {
        macro_rules! int {
            ($slot:expr, $now:expr, $was:expr) => {
                if $now != $was {
                    vm.stack_set(base + $slot, Value::Int($now));
                }
            };
        }
        int!(S_PC, pc, entered.pc);
        int!(S_LO, self.lo, entered.lo);
        int!(S_UP, self.up, entered.up);
        int!(S_RND, self.rnd, entered.rnd);
        int!(S_P, self.p, entered.p);
        int!(S_I, self.i, entered.i);
        int!(S_J, self.j, entered.j);
        int!(S_SP, self.sp, entered.sp);
        vm.stack_set(base + S_V1, self.v1);
        vm.stack_set(base + S_V2, self.v2);
        vm.stack_set(base + S_PIV, self.piv);
    }
}

/// `sort_comp(a, b)` of the machine: `a < b` in the primitive order of numbers or of strings
/// (what `sort` hands it; a restored frame's other values are an error, as `<` would raise). A
/// string comparison is paid by chunks: the first `credit` are paid already (by a comparison
/// of the same strings refused after them); `chunks` counts those paid, the credit included.
fn sort_comp(
    vm: &mut Vm,
    a: Value,
    b: Value,
    credit: u64,
    chunks: &mut u64,
) -> Result<bool, Throw> {
    match (a, b) {
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            let (Some(x), Some(y)) = (a.as_number(), b.as_number()) else {
                return Ok(false);
            };
            Ok(kernel::number::num_lt(x, y))
        }
        (Value::Str(x), Value::Str(y)) => {
            // Priced per byte compared: long common prefixes are real work.
            let (heap, mut fuel) = vm.heap_and_fuel();
            let mut pay = |n: usize| {
                if *chunks >= credit {
                    fuel.charge_work(Work::Bytes, n)?;
                }
                *chunks += 1;
                Ok::<(), Throw>(())
            };
            let order = crate::budget::compare(&mut pay, heap.str(x), heap.str(y))?;
            Ok(order == std::cmp::Ordering::Less)
        }
        _ => {
            let (ta, tb) = (type_name(vm, a), type_name(vm, b));
            Err(Throw::Plain(if ta == tb {
                format!("attempt to compare two {ta} values")
            } else {
                format!("attempt to compare {ta} with {tb}")
            }))
        }
    }
}

fn sort(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let base = call.base;
    let n = match call.state {
        0 => {
            let t = checktab(vm, &call, 1, TAB_R | TAB_W | TAB_L)?;
            vm.set_top(base + S_FUNC)?;
            match len_of(vm, t)? {
                Some(n) => n,
                None => {
                    return Ok(Action::Call {
                        func: base + S_FUNC,
                        nresults: 1,
                        state: ST_LEN,
                    })
                }
            }
        }
        ST_LEN => len_result(vm, vm.stack_get(base + S_FUNC))?,
        ST_CHECKPOINT => {
            let r = match vm.stack_get(base + S_REGS) {
                Value::Table(regs) => match vm.heap.table(regs).get_int(R_RES) {
                    Value::Bool(b) => Some(b),
                    _ => None,
                },
                _ => None,
            };
            return sort_run(vm, base, r, Entry::Checkpoint);
        }
        _ => return Ok(Action::Return(0)),
    };
    vm.set_top(base + S_FUNC)?;
    if n <= 1 {
        return Ok(Action::Return(0));
    }
    if n >= i32::MAX as i64 {
        return Err(Throw::bad_arg(1, "array too big"));
    }
    let f = vm.stack_get(base + 1);
    if !f.is_nil() && !f.is_function() {
        return Err(type_error(vm, &call, 2, "function"));
    }
    let t = vm.stack_get(base);
    let fast = match plain(vm, t) {
        Some(tr) if f.is_nil() => {
            // Paid before anything is allocated: a step refused after it allocated is taken
            // up again and allocates anew, leaving garbage an uninterrupted run does not
            // make, so collections (and the fuel they cost) would depend on where a budget
            // ran out. The scan is paid for here, and with it the machine's first entry,
            // which `sort_run` is told is paid.
            charge(vm, Work::Entries, n as usize)?;
            charge(vm, Work::Instruction, 1)?;
            all_numbers_or_strings(vm, tr, n)
        }
        _ => false,
    };
    if !fast {
        // What may call Lua (a comparator, `__lt`, the table's metamethods) is sorted in
        // Lua, as lua5.4 sorts it (`SORT_HELPER`).
        return call_helper(
            vm,
            "sort",
            &[
                t,
                Value::Int(n),
                f,
                Value::Int(FIXED_RANDOM as i64),
                Value::Int(RANLIMIT as i64),
            ],
            0,
            ST_SORTED_IN_LUA,
        );
    }
    // Room for every register and the deepest stack of pending ranges (the smaller side is
    // sorted first: at most one frame per halving), so that no register write grows the
    // table, which could be refused a rehash's fuel in the middle of a step.
    let frames = (64 - n.leading_zeros()) as usize + 1;
    let regs = vm.new_table(
        (R_STACK as usize + 4 * frames).max(R_STACK as usize + 16),
        0,
    )?;
    vm.stack_set(base + S_REGS, Value::Table(regs));
    vm.stack_set(base + S_LEN, Value::Int(n));
    for (slot, v) in [(S_PC, PC_LOOP), (S_LO, 1), (S_UP, n), (S_RND, 0), (S_SP, 0)] {
        vm.stack_set(base + slot, Value::Int(v));
    }
    sort_run(vm, base, None, Entry::Paid)
}

/// Whether the first `n` values of `t`'s array part are all there and all numbers or all
/// strings: then sorting them calls no Lua.
fn all_numbers_or_strings(vm: &Vm, t: TableRef, n: i64) -> bool {
    let arr = vm.heap.table(t).array();
    let len = usize::try_from(n).unwrap_or(usize::MAX).min(arr.len());
    len as i64 == n
        && (arr[..len]
            .iter()
            .all(|v| matches!(v, Value::Int(_) | Value::Float(_)))
            || arr[..len].iter().all(|v| matches!(v, Value::Str(_))))
}

/// How the sorting machine is entered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// Its first entry, already paid for by `sort`.
    Paid,
    /// After a cut (`R_CUT`), or a restored frame's stop: an entry that is not a cut's pays
    /// for itself.
    Checkpoint,
}

/// Runs lua5.4's auxsort as a machine over a table of numbers or of strings (no Lua is
/// called), to the end unless the meter stops it; `result` is the outcome of the comparison
/// made before a cut.
fn sort_run(vm: &mut Vm, base: usize, result: Option<bool>, entry: Entry) -> Result<Action, Throw> {
    let checkpoint = entry == Entry::Checkpoint;
    let (Value::Table(regs), Value::Table(w)) = (vm.stack_get(base + S_REGS), vm.stack_get(base))
    else {
        return Err(Throw::msg("table.sort: lost its state"));
    };
    let s = Sorter { regs, w };
    // No Lua call can happen: run to the end in this entry, unless a step or a comparison
    // cannot be paid for (then it stops at a cut, see `cmp!`). After a cut, the entry it
    // stopped goes on (`R_CUT`); until its first step is through, a refusal leaves the native
    // as it was entered, so it stops at once. Any other entry pays for itself first, and so
    // stops at once when it cannot.
    let cut = match checkpoint.then(|| s.getv(vm, R_CUT)) {
        Some(Value::Int(steps)) => Some(steps as u64),
        _ => None,
    };
    let mut r = Regs::load(vm, base);
    let entered = r;
    let mut pc = r.pc;
    let mut credit = match cut.map(|_| s.getv(vm, R_CUT_PAID)) {
        Some(Value::Int(chunks)) if pc == PC_CMP => Some(chunks as u64),
        _ => None,
    };
    if cut.is_none() && checkpoint {
        charge(vm, Work::Instruction, 1)?;
    }
    let mut pending = cut.is_some();
    let mut step_paid = credit.is_some();
    let mut res = result;
    let mut steps = cut.unwrap_or(0);
    // The machine's arithmetic wraps: with the registers it writes, nothing overflows (the
    // length is below `i32::MAX`), and registers a restored frame filled with anything
    // must not stop the host.
    loop {
        steps = steps.wrapping_add(1);
        // Each step is paid for before it is taken (a comparison's step before the cut
        // that stopped it). One the meter refuses stops the machine at a cut, from which the
        // entry after a refuel takes it.
        if step_paid {
            // Paid before the cut: the refused comparison is tried again below.
            step_paid = false;
        } else if charge(vm, Work::Instruction, SORT_STEP_PRICE).is_err() {
            if pending {
                return Err(Throw::OutOfFuel);
            }
            r.store(&entered, vm, base, pc);
            s.setv(vm, R_RES, res.map_or(Value::Nil, Value::Bool))?;
            s.set(vm, R_CUT, steps.wrapping_sub(1) as i64)?;
            s.setv(vm, R_CUT_PAID, Value::Nil)?;
            return sort_stop(vm, base);
        } else if pending {
            pending = false;
            s.setv(vm, R_CUT, Value::Nil)?;
        }
        // Comparisons: `cmp!(x, y, next)` compares and continues at `next` with the result.
        // A comparison the meter cannot pay for is put off: the machine saves it as `PC_CMP`
        // and stops at a cut, so that the entry after a refuel starts there.
        macro_rules! cmp {
            ($x:expr, $y:expr, $next:expr) => {{
                let (x, y) = ($x, $y);
                let mut chunks = 0;
                let compared = sort_comp(vm, x, y, credit.take().unwrap_or(0), &mut chunks);
                let compared = match compared {
                    Err(Throw::OutOfFuel) => {
                        if pending {
                            return Err(Throw::OutOfFuel);
                        }
                        s.setv(vm, R_CA, x)?;
                        s.setv(vm, R_CB, y)?;
                        s.set(vm, R_NEXT, $next)?;
                        r.store(&entered, vm, base, PC_CMP);
                        s.setv(vm, R_RES, res.map_or(Value::Nil, Value::Bool))?;
                        s.set(vm, R_CUT, steps.wrapping_sub(1) as i64)?;
                        s.set(vm, R_CUT_PAID, chunks as i64)?;
                        return sort_stop(vm, base);
                    }
                    other => other?,
                };
                if pending {
                    pending = false;
                    s.setv(vm, R_CUT, Value::Nil)?;
                    s.setv(vm, R_CUT_PAID, Value::Nil)?;
                }
                res = Some(compared);
                pc = $next;
                continue;
            }};
        }
        let (lo, up) = (r.lo, r.up);
        match pc {
            PC_CMP => {
                let (x, y, next) = (s.getv(vm, R_CA), s.getv(vm, R_CB), s.get(vm, R_NEXT));
                cmp!(x, y, next)
            }
            PC_LOOP => {
                if lo >= up {
                    pc = PC_END;
                    continue;
                }
                let (x, y) = (s.a(vm, lo), s.a(vm, up));
                r.v1 = x;
                r.v2 = y;
                cmp!(y, x, PC_C1)
            }
            PC_C1 => {
                if res.take().unwrap_or(false) {
                    let (x, y) = (r.v1, r.v2);
                    s.seta(vm, lo, y)?;
                    s.seta(vm, up, x)?;
                }
                if up.wrapping_sub(lo) == 1 {
                    pc = PC_END;
                    continue;
                }
                let rnd = r.rnd as u32;
                let (ulo, uup) = (lo as u32, up as u32);
                let span = uup.wrapping_sub(ulo);
                let p = if span < RANLIMIT || rnd == 0 {
                    ulo.wrapping_add(uup) / 2
                } else {
                    // `span >= RANLIMIT`: `r4 * 2` is neither 0 nor past `u32::MAX`.
                    let r4 = span / 4;
                    (rnd % (r4 * 2)).wrapping_add(ulo.wrapping_add(r4))
                } as i64;
                r.p = p;
                let (x, y) = (s.a(vm, p), s.a(vm, lo));
                r.v1 = x;
                r.v2 = y;
                cmp!(x, y, PC_C2)
            }
            PC_C2 => {
                let p = r.p;
                if res.take().unwrap_or(false) {
                    let (x, y) = (r.v1, r.v2);
                    s.seta(vm, p, y)?;
                    s.seta(vm, lo, x)?;
                    pc = PC_AFTER3;
                    continue;
                }
                let y = s.a(vm, up);
                r.v2 = y;
                let x = r.v1;
                cmp!(y, x, PC_C3)
            }
            PC_C3 => {
                let p = r.p;
                if res.take().unwrap_or(false) {
                    let (x, y) = (r.v1, r.v2);
                    s.seta(vm, p, y)?;
                    s.seta(vm, up, x)?;
                }
                pc = PC_AFTER3;
            }
            PC_AFTER3 => {
                if up.wrapping_sub(lo) == 2 {
                    pc = PC_END;
                    continue;
                }
                let p = r.p;
                let piv = s.a(vm, p);
                let last = s.a(vm, up.wrapping_sub(1));
                s.seta(vm, p, last)?;
                s.seta(vm, up.wrapping_sub(1), piv)?;
                r.piv = piv;
                r.i = lo;
                r.j = up.wrapping_sub(1);
                pc = PC_PART_I;
            }
            PC_PART_I => {
                let i = r.i.wrapping_add(1);
                r.i = i;
                let x = s.a(vm, i);
                r.v1 = x;
                let piv = r.piv;
                cmp!(x, piv, PC_C4)
            }
            PC_C4 => {
                if res.take().unwrap_or(false) {
                    if r.i == up.wrapping_sub(1) {
                        return Err(Throw::msg("invalid order function for sorting"));
                    }
                    pc = PC_PART_I;
                } else {
                    pc = PC_PART_J;
                }
            }
            PC_PART_J => {
                let j = r.j.wrapping_sub(1);
                r.j = j;
                let y = s.a(vm, j);
                r.v2 = y;
                let piv = r.piv;
                cmp!(piv, y, PC_C5)
            }
            PC_C5 => {
                let (i, j) = (r.i, r.j);
                if res.take().unwrap_or(false) {
                    if j < i {
                        return Err(Throw::msg("invalid order function for sorting"));
                    }
                    pc = PC_PART_J;
                    continue;
                }
                let (vi, vj) = (r.v1, r.v2);
                if j < i {
                    // Partition done at p = i.
                    let piv = r.piv;
                    s.seta(vm, up.wrapping_sub(1), vi)?;
                    s.seta(vm, i, piv)?;
                    let p = i;
                    let rnd = r.rnd;
                    let sp = r.sp;
                    let fr = R_STACK.wrapping_add(sp.wrapping_mul(4));
                    // Recurse on the smaller side; the other side continues afterwards.
                    let (below, above) = (p.wrapping_sub(lo), up.wrapping_sub(p));
                    let (rlo, rup, tlo, tup, n) = if below < above {
                        (lo, p.wrapping_sub(1), p.wrapping_add(1), up, below)
                    } else {
                        (p.wrapping_add(1), up, lo, p.wrapping_sub(1), above)
                    };
                    s.set(vm, fr, tlo)?;
                    s.set(vm, fr.wrapping_add(1), tup)?;
                    s.set(vm, fr.wrapping_add(2), n)?;
                    s.set(vm, fr.wrapping_add(3), rnd)?;
                    r.sp = sp.wrapping_add(1);
                    r.lo = rlo;
                    r.up = rup;
                    pc = PC_LOOP;
                } else {
                    s.seta(vm, i, vj)?;
                    s.seta(vm, j, vi)?;
                    pc = PC_PART_I;
                }
            }
            PC_END => {
                let sp = r.sp;
                if sp == 0 {
                    pc = PC_DONE;
                    continue;
                }
                let fr = R_STACK.wrapping_add(sp.wrapping_sub(1).wrapping_mul(4));
                let (tlo, tup, n, rnd) = (
                    s.get(vm, fr),
                    s.get(vm, fr.wrapping_add(1)),
                    s.get(vm, fr.wrapping_add(2)),
                    s.get(vm, fr.wrapping_add(3)),
                );
                r.sp = sp.wrapping_sub(1);
                r.lo = tlo;
                r.up = tup;
                let span = (tup as u32).wrapping_sub(tlo as u32);
                let rnd = if (span / 128) as i64 > n {
                    FIXED_RANDOM as i64
                } else {
                    rnd
                };
                r.rnd = rnd;
                pc = PC_LOOP;
            }
            _ => return Ok(Action::Return(0)),
        }
    }
}

/// The value of `table.checkpoint` (made once per VM, then the same value).
fn checkpoint_value(vm: &mut Vm) -> Result<Value, Throw> {
    let id = vm
        .natives()
        .id_of("table.checkpoint")
        .ok_or_else(|| Throw::msg("checkpoint missing"))?;
    vm.native_value(id, Vec::new())
}

/// Stops at a cut (the meter refused a step): the machine is entered next in state
/// `ST_CHECKPOINT`, as after a checkpoint, from the registers it saved.
fn sort_stop(vm: &mut Vm, base: usize) -> Result<Action, Throw> {
    vm.set_top(base + S_FUNC)?;
    Ok(Action::Stop {
        state: ST_CHECKPOINT,
    })
}
