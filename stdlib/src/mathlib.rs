//! The math library (Lua 5.4 manual §6.7) as natives.
//!
//! `math.random` is lmathlib's xoshiro256** with the same seeding, `project` and float
//! conversion, so a seeded sequence matches lua5.4 exactly. The generator's state lives in the
//! registry (it is part of the process and serialises with it). The library reads no clock:
//! a fresh process's generator starts from a seed derived from its heap's hash seed
//! (`Heap::secret_seed`), which the embedder draws from the host's randomness — so, as in
//! lua5.4, each run gives other numbers — or, in a deterministic process, derives from
//! `--seed` and the process's place in its tree. `math.randomseed()` without arguments
//! reseeds from the generator itself (lua5.4 seeds from the clock).
//!
//! `math.max`/`math.min` compare numbers and strings as `lua_compare` does; other values
//! raise the comparison error (their `__lt` metamethods are not called).

use crate::support::*;
use crate::Lib;
use kernel::number::{float_to_int, num_lt, FloatToInt};
use kernel::value::{TableRef, Value};
use kernel::vm::{Action, NativeCall, Throw, Vm};

pub const LIB: Lib = Lib {
    switches: &[],
    resumable: &[],
    name: Some("math"),
    functions: &[
        ("abs", abs, 0),
        ("ceil", ceil, 0),
        ("cos", cos, 0),
        ("deg", deg, 0),
        ("exp", exp, 0),
        ("floor", floor, 0),
        ("fmod", fmod, 0),
        ("log", log, 0),
        ("max", max, 0),
        ("min", min, 0),
        ("modf", modf, 0),
        ("rad", rad, 0),
        ("random", random, 0),
        ("randomseed", randomseed, 0),
        ("sin", sin, 0),
        ("sqrt", sqrt, 0),
        ("tan", tan, 0),
        ("tointeger", tointeger, 0),
        ("type", type_, 0),
        ("ult", ult, 0),
        ("acos", acos, 0),
        ("asin", asin, 0),
        ("atan", atan, 0),
        // The 5.3 compatibility functions the reference build (LUA_COMPAT_MATHLIB) has.
        ("atan2", atan, 0),
        ("cosh", cosh, 0),
        ("sinh", sinh, 0),
        ("tanh", tanh, 0),
        ("pow", pow, 0),
        ("frexp", frexp, 0),
        ("ldexp", ldexp, 0),
        ("log10", log10, 0),
    ],
    hidden: &[],
    open: Some(open),
};

fn open(vm: &mut Vm, t: TableRef) -> Result<(), Throw> {
    for (name, v) in [
        ("pi", Value::Float(std::f64::consts::PI)),
        ("huge", Value::Float(f64::INFINITY)),
        ("maxinteger", Value::Int(i64::MAX)),
        ("mininteger", Value::Int(i64::MIN)),
    ] {
        let k = vm.intern(name.as_bytes())?;
        vm.raw_set(t, k, v)?;
    }
    Ok(())
}

fn num(vm: &mut Vm, call: &NativeCall, i: usize) -> Result<f64, Throw> {
    Ok(check_number(vm, call, i)?.to_f64())
}

/// `pushnumint`: an integral float as an integer when it fits.
fn numint(f: f64) -> Value {
    match float_to_int(f, FloatToInt::Exact) {
        Some(i) => Value::Int(i),
        None => Value::Float(f),
    }
}

fn float1(vm: &mut Vm, call: NativeCall, f: fn(f64) -> f64) -> Result<Action, Throw> {
    let x = num(vm, &call, 1)?;
    ret1(vm, Value::Float(f(x)))
}

fn abs(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    if let Value::Int(i) = arg(vm, &call, 1) {
        return ret1(vm, Value::Int(i.wrapping_abs()));
    }
    float1(vm, call, f64::abs)
}

fn floor(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    if let Value::Int(i) = arg(vm, &call, 1) {
        return ret1(vm, Value::Int(i));
    }
    let x = num(vm, &call, 1)?;
    ret1(vm, numint(x.floor()))
}

fn ceil(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    if let Value::Int(i) = arg(vm, &call, 1) {
        return ret1(vm, Value::Int(i));
    }
    let x = num(vm, &call, 1)?;
    ret1(vm, numint(x.ceil()))
}

fn cos(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    float1(vm, call, f64::cos)
}
fn sin(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    float1(vm, call, f64::sin)
}
fn tan(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    float1(vm, call, f64::tan)
}
fn acos(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    float1(vm, call, f64::acos)
}
fn asin(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    float1(vm, call, f64::asin)
}
fn exp(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    float1(vm, call, f64::exp)
}
fn sqrt(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    float1(vm, call, f64::sqrt)
}
fn deg(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    float1(vm, call, |x| x * (180.0 / std::f64::consts::PI))
}
fn rad(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    float1(vm, call, |x| x * (std::f64::consts::PI / 180.0))
}

fn atan(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let y = num(vm, &call, 1)?;
    let x = match opt_number(vm, &call, 2)? {
        Some(n) => n.to_f64(),
        None => 1.0,
    };
    ret1(vm, Value::Float(y.atan2(x)))
}

fn log(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let x = num(vm, &call, 1)?;
    let r = if arg(vm, &call, 2).is_nil() {
        x.ln()
    } else {
        let b = num(vm, &call, 2)?;
        if b == 2.0 {
            x.log2()
        } else if b == 10.0 {
            x.log10()
        } else {
            x.ln() / b.ln()
        }
    };
    ret1(vm, Value::Float(r))
}

fn fmod(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    if let (Value::Int(a), Value::Int(d)) = (arg(vm, &call, 1), arg(vm, &call, 2)) {
        if (d as u64).wrapping_add(1) <= 1 {
            if d == 0 {
                return Err(Throw::bad_arg(2, "zero"));
            }
            return ret1(vm, Value::Int(0));
        }
        // C's `%` truncates toward zero, as Rust's does.
        return ret1(vm, Value::Int(a % d));
    }
    let a = num(vm, &call, 1)?;
    let b = num(vm, &call, 2)?;
    ret1(vm, Value::Float(libm_fmod(a, b)))
}

/// C's `fmod` (Rust's `%` on floats is the same operation).
fn libm_fmod(a: f64, b: f64) -> f64 {
    a % b
}

fn modf(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    if let Value::Int(i) = arg(vm, &call, 1) {
        return ret(vm, &[Value::Int(i), Value::Float(0.0)]);
    }
    let n = num(vm, &call, 1)?;
    let ip = if n < 0.0 { n.ceil() } else { n.floor() };
    let frac = if n == ip { 0.0 } else { n - ip };
    ret(vm, &[numint(ip), Value::Float(frac)])
}

fn tointeger(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let v = arg(vm, &call, 1);
    match vm.to_integer(v) {
        Some(i) => ret1(vm, Value::Int(i)),
        None => {
            check_any(vm, &call, 1)?;
            ret1(vm, Value::Nil)
        }
    }
}

fn type_(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let v = check_any(vm, &call, 1)?;
    match v {
        Value::Int(_) => ret_str(vm, b"integer"),
        Value::Float(_) => ret_str(vm, b"float"),
        _ => ret1(vm, Value::Nil),
    }
}

fn ult(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let a = check_integer(vm, &call, 1)?;
    let b = check_integer(vm, &call, 2)?;
    ret1(vm, Value::Bool((a as u64) < (b as u64)))
}

/// `lua_compare(a, b, LUA_OPLT)` for numbers and strings.
fn less_than(vm: &mut Vm, a: Value, b: Value) -> Result<bool, Throw> {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => {
            // Priced per byte compared.
            let (heap, mut fuel) = vm.heap_and_fuel();
            let mut pay = |n: usize| fuel.charge_work(kernel::cost::Work::Bytes, n);
            let order = crate::budget::compare(&mut pay, heap.str(x), heap.str(y))?;
            Ok(order == std::cmp::Ordering::Less)
        }
        _ => match (a.as_number(), b.as_number()) {
            (Some(x), Some(y)) => Ok(num_lt(x, y)),
            _ => {
                let (ta, tb) = (type_name(vm, a), type_name(vm, b));
                Err(Throw::Plain(if ta == tb {
                    format!("attempt to compare two {ta} values")
                } else {
                    format!("attempt to compare {ta} with {tb}")
                }))
            }
        },
    }
}

fn minmax(vm: &mut Vm, call: NativeCall, max: bool) -> Result<Action, Throw> {
    let n = nargs(vm, &call);
    if n < 1 {
        return Err(Throw::bad_arg(1, "value expected"));
    }
    crate::budget::charge(vm, kernel::cost::Work::Values, n)?;
    let mut best = arg(vm, &call, 1);
    for i in 2..=n {
        let v = arg(vm, &call, i);
        let better = if max {
            less_than(vm, best, v)?
        } else {
            less_than(vm, v, best)?
        };
        if better {
            best = v;
        }
    }
    ret1(vm, best)
}

fn max(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    minmax(vm, call, true)
}

fn min(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    minmax(vm, call, false)
}

// ----- xoshiro256** -----------------------------------------------------------------------

fn next_rand(s: &mut [u64; 4]) -> u64 {
    kernel::xoshiro::next(s)
}

fn seeded(n1: u64, n2: u64) -> [u64; 4] {
    let mut s = [n1, 0xff, n2, 0];
    for _ in 0..16 {
        next_rand(&mut s);
    }
    s
}

/// `I2d`: the top 53 bits as a float in [0, 1).
fn i2d(x: u64) -> f64 {
    (x >> 11) as f64 * (0.5f64).powi(53)
}

/// `project`: a uniform integer in `[0, n]`.
fn project(mut ran: u64, n: u64, s: &mut [u64; 4]) -> u64 {
    if n & n.wrapping_add(1) == 0 {
        return ran & n;
    }
    let mut lim = n;
    lim |= lim >> 1;
    lim |= lim >> 2;
    lim |= lim >> 4;
    lim |= lim >> 8;
    lim |= lim >> 16;
    lim |= lim >> 32;
    loop {
        ran &= lim;
        if ran <= n {
            return ran;
        }
        ran = next_rand(s);
    }
}

const RNG_KEY: &[u8] = b"math.random.state";

fn load_state(vm: &mut Vm) -> Result<[u64; 4], Throw> {
    let k = vm.intern(RNG_KEY)?;
    if let Value::Table(t) = vm.raw_get(vm.registry, k) {
        let tb = vm.heap.table(t);
        let mut s = [0u64; 4];
        for (i, slot) in s.iter_mut().enumerate() {
            if let Value::Int(x) = tb.get_int(i as i64 + 1) {
                *slot = x as u64;
            }
        }
        return Ok(s);
    }
    let [n1, n2] = vm.heap.secret_seed(b"math.random");
    Ok(seeded(n1, n2))
}

fn store_state(vm: &mut Vm, s: &[u64; 4]) -> Result<(), Throw> {
    let k = vm.intern(RNG_KEY)?;
    let t = match vm.raw_get(vm.registry, k) {
        Value::Table(t) => t,
        _ => {
            let t = vm.new_table(4, 0)?;
            vm.raw_set(vm.registry, k, Value::Table(t))?;
            t
        }
    };
    for (i, &x) in s.iter().enumerate() {
        vm.raw_set(t, Value::Int(i as i64 + 1), Value::Int(x as i64))?;
    }
    Ok(())
}

fn random(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let mut s = load_state(vm)?;
    let rv = next_rand(&mut s);
    let (low, up) = match nargs(vm, &call) {
        0 => {
            store_state(vm, &s)?;
            return ret1(vm, Value::Float(i2d(rv)));
        }
        1 => {
            let up = check_integer(vm, &call, 1)?;
            if up == 0 {
                store_state(vm, &s)?;
                return ret1(vm, Value::Int(rv as i64));
            }
            (1, up)
        }
        2 => (check_integer(vm, &call, 1)?, check_integer(vm, &call, 2)?),
        _ => return Err(Throw::msg("wrong number of arguments")),
    };
    if low > up {
        return Err(Throw::bad_arg(1, "interval is empty"));
    }
    let p = project(rv, (up as u64).wrapping_sub(low as u64), &mut s);
    store_state(vm, &s)?;
    ret1(vm, Value::Int(p.wrapping_add(low as u64) as i64))
}

fn randomseed(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let (n1, n2) = if nargs(vm, &call) == 0 {
        // No clock: derive a new seed from the generator itself.
        let mut s = load_state(vm)?;
        (next_rand(&mut s) as i64, next_rand(&mut s) as i64)
    } else {
        let n1 = check_integer(vm, &call, 1)?;
        let n2 = opt_integer(vm, &call, 2, 0)?;
        (n1, n2)
    };
    let s = seeded(n1 as u64, n2 as u64);
    store_state(vm, &s)?;
    ret(vm, &[Value::Int(n1), Value::Int(n2)])
}

fn cosh(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    float1(vm, call, f64::cosh)
}

fn sinh(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    float1(vm, call, f64::sinh)
}

fn tanh(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    float1(vm, call, f64::tanh)
}

fn log10(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    float1(vm, call, f64::log10)
}

fn pow(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let x = num(vm, &call, 1)?;
    let y = num(vm, &call, 2)?;
    ret1(vm, Value::Float(x.powf(y)))
}

/// C's `frexp`: `x = m * 2^e` with `0.5 <= |m| < 1` (and `m = x`, `e = 0` for 0, inf, nan).
fn frexp(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let x = num(vm, &call, 1)?;
    let (m, e) = split_exponent(x);
    ret(vm, &[Value::Float(m), Value::Int(e)])
}

fn split_exponent(x: f64) -> (f64, i64) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let (mut y, mut bias) = (x, 0i64);
    if y.abs() < f64::MIN_POSITIVE {
        // Subnormal: scale into the normal range first.
        y *= 2f64.powi(64);
        bias = -64;
    }
    let bits = y.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1022;
    let m = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (m, exp + bias)
}

fn ldexp(vm: &mut Vm, call: NativeCall) -> Result<Action, Throw> {
    let m = num(vm, &call, 1)?;
    let e = check_integer(vm, &call, 2)?.clamp(-4000, 4000) as i32;
    // Two steps so that 2^e itself cannot overflow or underflow when the product would not.
    let half = e / 2;
    ret1(vm, Value::Float(m * 2f64.powi(half) * 2f64.powi(e - half)))
}
