//! The utf8 library (Lua 5.4 manual §6.5) as natives, following lutf8lib.c of lua5.4
//! (sequences of up to six bytes, values up to 2^31 - 1 in lax mode).

use crate::budget::{charge, charge_bytes, Scan};
use crate::support::*;
use crate::Lib;
use kernel::cost::Work;
use kernel::value::{TableRef, Value};
use kernel::vm::{Action, NativeCall, Throw, Vm};

pub const LIB: Lib = Lib {
    switches: &[],
    resumable: &[],
    name: Some("utf8"),
    functions: &[
        ("char", char, 0),
        ("codes", codes, 0),
        ("codepoint", codepoint, 0),
        ("len", len, 0),
        ("offset", offset, 0),
    ],
    hidden: &[
        ("utf8.codes.strict", iter_strict, 0),
        ("utf8.codes.lax", iter_lax, 0),
    ],
    open: Some(open),
};

const MAXUNICODE: u32 = 0x10FFFF;
const MAXUTF: u32 = 0x7FFF_FFFF;
const MSG_INVALID: &str = "invalid UTF-8 code";

fn open(vm: &mut Vm, t: TableRef) -> Result<(), Throw> {
    let k = vm.intern(b"charpattern")?;
    let v = vm.intern(b"[\x00-\x7F\xC2-\xFD][\x80-\xBF]*")?;
    vm.raw_set(t, k, v)
}

/// Byte `i` of `s`, or the C string's terminating NUL past the end.
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

fn iscont(s: &[u8], i: usize) -> bool {
    at(s, i) & 0xC0 == 0x80
}

/// `utf8_decode` at offset `i`: the code and the offset after it.
fn decode(s: &[u8], i: usize, strict: bool) -> Option<(u32, usize)> {
    const LIMITS: [u32; 6] = [!0, 0x80, 0x800, 0x10000, 0x200000, 0x4000000];
    let mut c = at(s, i) as u32;
    let mut res: u32 = 0;
    let mut end = i;
    if c < 0x80 {
        res = c;
    } else {
        let mut count = 0usize;
        while c & 0x40 != 0 {
            count += 1;
            let cc = at(s, i + count) as u32;
            if cc & 0xC0 != 0x80 {
                return None;
            }
            res = (res << 6) | (cc & 0x3F);
            c <<= 1;
        }
        if count > 5 {
            return None;
        }
        res |= (c & 0x7F) << (count * 5);
        if res > MAXUTF || res < LIMITS[count] {
            return None;
        }
        end += count;
    }
    if strict && (res > MAXUNICODE || (0xD800..=0xDFFF).contains(&res)) {
        return None;
    }
    Some((res, end + 1))
}

/// `u_posrelat`.
fn posrelat(pos: i64, len: usize) -> i64 {
    if pos >= 0 {
        pos
    } else if pos.unsigned_abs() > len as u64 {
        0
    } else {
        len as i64 + pos + 1
    }
}

fn len(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let s = check_str(vm, &call, 1)?;
    let l = vm.heap.str(s).len();
    let mut posi = posrelat(opt_integer(vm, &call, 2, 1)?, l);
    let posj = posrelat(opt_integer(vm, &call, 3, -1)?, l);
    let lax = arg(vm, &call, 4).truthy();
    if !(1 <= posi && posi - 1 <= l as i64) {
        return Err(Throw::bad_arg(2, "initial position out of bounds"));
    }
    posi -= 1;
    let posj = posj - 1;
    if posj >= l as i64 {
        return Err(Throw::bad_arg(3, "final position out of bounds"));
    }
    charge_bytes(vm, (posj - posi).max(0) as usize)?;
    let bytes = vm.heap.str(s);
    let mut n = 0i64;
    while posi <= posj {
        match decode(bytes, posi as usize, !lax) {
            None => return ret(vm, &[Value::Nil, Value::Int(posi + 1)]),
            Some((_, next)) => posi = next as i64,
        }
        n += 1;
    }
    ret1(vm, Value::Int(n))
}

fn codepoint(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let s = check_str(vm, &call, 1)?;
    let l = vm.heap.str(s).len();
    let posi = posrelat(opt_integer(vm, &call, 2, 1)?, l);
    let pose = posrelat(opt_integer(vm, &call, 3, posi)?, l);
    let lax = arg(vm, &call, 4).truthy();
    if posi < 1 {
        return Err(Throw::bad_arg(2, "out of bounds"));
    }
    if pose > l as i64 {
        return Err(Throw::bad_arg(3, "out of bounds"));
    }
    if posi > pose {
        return Ok(Action::Return(0));
    }
    if pose - posi >= i32::MAX as i64 || pose - posi >= 1_000_000 {
        return Err(Throw::msg("string slice too long"));
    }
    charge_bytes(vm, (pose - posi) as usize + 1)?;
    charge(vm, Work::Values, (pose - posi) as usize + 1)?;
    let bytes = vm.heap.str(s);
    let mut codes = Vec::new();
    let mut i = posi as usize - 1;
    let se = pose as usize;
    while i < se {
        match decode(bytes, i, !lax) {
            None => return Err(Throw::msg(MSG_INVALID)),
            Some((c, next)) => {
                codes.push(Value::Int(c as i64));
                i = next;
            }
        }
    }
    ret(vm, &codes)
}

/// `luaO_utf8esc`, shared with the lexer's `\u{...}` escapes.
fn encode(x: u32, out: &mut Vec<u8>) {
    let mut buf = [0u8; 8];
    let n = kernel::compiler::utf8_encode(&mut buf, x);
    out.extend_from_slice(&buf[8 - n..]);
}

fn char(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let n = nargs(vm, &call);
    charge(vm, Work::Values, n)?;
    let mut out = Vec::new();
    for i in 1..=n {
        let code = check_integer(vm, &call, i)? as u64;
        if code > MAXUTF as u64 {
            return Err(Throw::bad_arg(i, "value out of range"));
        }
        encode(code as u32, &mut out);
    }
    ret_str(vm, &out)
}

fn offset(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let s = check_str(vm, &call, 1)?;
    let l = vm.heap.str(s).len();
    let mut n = check_integer(vm, &call, 2)?;
    let default = if n >= 0 { 1 } else { l as i64 + 1 };
    let mut posi = posrelat(opt_integer(vm, &call, 3, default)?, l);
    if !(1 <= posi && posi - 1 <= l as i64) {
        return Err(Throw::bad_arg(3, "position out of bounds"));
    }
    posi -= 1;
    // Paid byte by byte as the walk goes: it may stop anywhere.
    let (heap, mut fuel) = vm.heap_and_fuel();
    let mut scan = Scan::default();
    let b = heap.str(s);
    let mut p = posi as usize;
    if n == 0 {
        while p > 0 && iscont(b, p) {
            scan.step(&mut fuel)?;
            p -= 1;
        }
    } else {
        if iscont(b, p) {
            return Err(Throw::msg("initial position is a continuation byte"));
        }
        if n < 0 {
            while n < 0 && p > 0 {
                loop {
                    scan.step(&mut fuel)?;
                    p -= 1;
                    if !(p > 0 && iscont(b, p)) {
                        break;
                    }
                }
                n += 1;
            }
        } else {
            n -= 1;
            while n > 0 && p < l {
                loop {
                    scan.step(&mut fuel)?;
                    p += 1;
                    if !iscont(b, p) {
                        break;
                    }
                }
                n -= 1;
            }
        }
    }
    if n == 0 {
        ret1(vm, Value::Int(p as i64 + 1))
    } else {
        ret1(vm, Value::Nil)
    }
}

fn codes(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let lax = arg(vm, &call, 2).truthy();
    let s = check_str(vm, &call, 1)?;
    let name = if lax {
        "utf8.codes.lax"
    } else {
        "utf8.codes.strict"
    };
    let id = vm
        .natives()
        .id_of(name)
        .ok_or_else(|| Throw::msg("utf8 iterator missing"))?;
    let f = vm.native_value(id, Vec::new())?;
    ret(vm, &[f, Value::Str(s), Value::Int(0)])
}

fn iter_aux(vm: &mut Vm, call: NativeCall, strict: bool) -> Result<Action, Throw> {
    let s = check_str(vm, &call, 1)?;
    let i = vm.to_integer(arg(vm, &call, 2)).unwrap_or(0);
    charge_bytes(vm, 4)?;
    let (heap, mut fuel) = vm.heap_and_fuel();
    let mut scan = Scan::default();
    let b = heap.str(s);
    let len = b.len() as u64;
    let mut n = i as u64;
    if n < len {
        while iscont(b, n as usize) {
            scan.step(&mut fuel)?;
            n += 1;
        }
    }
    if n >= len {
        return Ok(Action::Return(0));
    }
    match decode(b, n as usize, strict) {
        None => Err(Throw::msg(MSG_INVALID)),
        Some((code, _)) => ret(vm, &[Value::Int(n as i64 + 1), Value::Int(code as i64)]),
    }
}

fn iter_strict(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    iter_aux(vm, call, true)
}

fn iter_lax(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    iter_aux(vm, call, false)
}
