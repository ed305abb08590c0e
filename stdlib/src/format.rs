//! `string.format`, exactly as Lua 5.4's `str_format` on glibc.
//!
//! This module owns the parsing and validation of conversion specifications (lstrlib's
//! `getformat`/`checkformat`, with their error messages) and the C `printf` rendering of every
//! conversion Lua accepts (`d i u c x X o e E f g G a A q s %`), written on top of Rust's
//! correctly rounded float formatting (which rounds exactly as glibc does).
//!
//! Contract with the native: arguments arrive as [`Arg`]s. `%s` needs `luaL_tolstring` of its
//! argument; for strings and numbers the engine does it, for every other value the caller
//! must supply [`Arg::Other::tostring`](Arg) (calling `__tostring` where there is one) —
//! [`tostring_args`] says which arguments a format string will feed to `%s`, so the caller
//! need not call metamethods for the others. Argument errors count from the format string
//! (#1), as Lua does.

use crate::{check_integer, check_number, Arg, EngineError};
use kernel::number::float_to_string;

type Res<T, A> = Result<T, EngineError<A>>;

/// lstrlib's `MAX_FORMAT`: a specification (with its `%`) must stay below `MAX_FORMAT - 10`.
const MAX_FORMAT: usize = 32;
const FLAGS_F: &[u8] = b"-+#0 ";
const FLAGS_X: &[u8] = b"-#0";
const FLAGS_I: &[u8] = b"-+0 ";
const FLAGS_U: &[u8] = b"-0";
const FLAGS_C: &[u8] = b"-";

/// A parsed, validated conversion specification.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Spec {
    pub minus: bool,
    pub plus: bool,
    pub space: bool,
    pub hash: bool,
    pub zero: bool,
    pub width: usize,
    pub precision: Option<usize>,
}

/// The 0-based indices (into the value arguments, i.e. excluding the format string) that the
/// format feeds to `%s`. Lenient: it stops where formatting would raise an error.
pub fn tostring_args(fmt: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut arg = 0;
    while i < fmt.len() {
        if fmt[i] != b'%' {
            i += 1;
            continue;
        }
        if fmt.get(i + 1) == Some(&b'%') {
            i += 2;
            continue;
        }
        let len = span_spec(&fmt[i + 1..]);
        if len + 1 >= MAX_FORMAT - 10 {
            break;
        }
        match fmt.get(i + 1 + len) {
            Some(b's') => out.push(arg),
            Some(c) if b"cdiuoxXaAfeEgGqp".contains(c) => {}
            _ => break,
        }
        arg += 1;
        i += len + 2;
    }
    out
}

/// `strspn(s, "-+#0 123456789.")`, stopping at a NUL as C does.
fn span_spec(s: &[u8]) -> usize {
    s.iter()
        .take_while(|c| b"-+#0 123456789.".contains(c))
        .count()
}

/// `checkformat`: validates `form` (the text after `%`, ending with the conversion) against
/// the accepted `flags`, and parses it.
fn check_format(form: &[u8], flags: &[u8], precision_ok: bool) -> Result<Spec, String> {
    let mut spec = Spec::default();
    let mut i = 0;
    while i < form.len() && flags.contains(&form[i]) {
        match form[i] {
            b'-' => spec.minus = true,
            b'+' => spec.plus = true,
            b' ' => spec.space = true,
            b'#' => spec.hash = true,
            _ => spec.zero = true,
        }
        i += 1;
    }
    let digits = |i: &mut usize| {
        let mut n = 0;
        for _ in 0..2 {
            match form.get(*i) {
                Some(c) if c.is_ascii_digit() => {
                    n = n * 10 + (c - b'0') as usize;
                    *i += 1;
                }
                _ => break,
            }
        }
        n
    };
    if form.get(i) != Some(&b'0') {
        spec.width = digits(&mut i);
        if form.get(i) == Some(&b'.') && precision_ok {
            i += 1;
            spec.precision = Some(digits(&mut i));
        }
    }
    if !form.get(i).is_some_and(|c| c.is_ascii_alphabetic()) {
        return Err(format!(
            "invalid conversion specification: '%{}'",
            String::from_utf8_lossy(form)
        ));
    }
    Ok(spec)
}

/// `string.format(fmt, ...)`. `budget` is charged with the number of bytes each piece adds
/// to the output before it is added, and may abort. `%p` prints `(null)` for every argument;
/// see [`format_with_pointers`].
pub fn format<A>(
    fmt: &[u8],
    args: &[Arg],
    budget: &mut dyn FnMut(u64) -> Result<(), A>,
) -> Res<Vec<u8>, A> {
    format_with_pointers(fmt, args, &|_| None, budget)
}

/// [`format`], with `pointer(i)` giving the identity `%p` prints for value `i` (0-based):
/// Lua prints the address of collectable values (strings, tables, functions, userdata,
/// threads) and `(null)` for the others, which is what `None` means here.
pub fn format_with_pointers<A>(
    fmt: &[u8],
    args: &[Arg],
    pointer: &dyn Fn(usize) -> Option<u64>,
    budget: &mut dyn FnMut(u64) -> Result<(), A>,
) -> Res<Vec<u8>, A> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut arg = 0usize; // index of the next value in `args`
                          // Bytes of work: what each piece writes (and, for `%q`, what it reads).
    let mut charge = |n: usize| -> Res<(), A> { budget(n as u64).map_err(EngineError::Abort) };
    while i < fmt.len() {
        let c = fmt[i];
        if c != b'%' {
            // Copy the literal run at once.
            let end = fmt[i..]
                .iter()
                .position(|&c| c == b'%')
                .map_or(fmt.len(), |p| p + i);
            charge(end - i)?;
            out.extend_from_slice(&fmt[i..end]);
            i = end;
            continue;
        }
        i += 1;
        if fmt.get(i) == Some(&b'%') {
            charge(1)?;
            out.push(b'%');
            i += 1;
            continue;
        }
        let n = arg + 2; // Lua's argument number
        let Some(value) = args.get(arg) else {
            return Err(EngineError::Arg {
                n,
                msg: "no value".into(),
            });
        };
        arg += 1;
        let len = span_spec(&fmt[i..]) + 1;
        if len >= MAX_FORMAT - 10 {
            return Err(EngineError::Msg("invalid format (too long)".into()));
        }
        // The conversion character; past the end, C reads the terminating NUL.
        let conv = fmt.get(i + len - 1).copied().unwrap_or(0);
        let form = &fmt[i..(i + len).min(fmt.len())];
        i += len;
        let arg_err = |msg: String| EngineError::Arg { n, msg };
        let piece: Vec<u8> = match conv {
            b'c' => {
                let spec = check_format(form, FLAGS_C, false).map_err(EngineError::Msg)?;
                let v = check_integer(Some(value)).map_err(arg_err)?;
                // C converts to int, then printf's %c to unsigned char.
                pad(&spec, b"", &[v as u8], false)
            }
            b'd' | b'i' | b'u' | b'o' | b'x' | b'X' => {
                let v = check_integer(Some(value)).map_err(arg_err)?;
                let flags = match conv {
                    b'd' | b'i' => FLAGS_I,
                    b'u' => FLAGS_U,
                    _ => FLAGS_X,
                };
                let spec = check_format(form, flags, true).map_err(EngineError::Msg)?;
                format_int(&spec, conv, v)
            }
            b'a' | b'A' => {
                let spec = check_format(form, FLAGS_F, true).map_err(EngineError::Msg)?;
                let v = check_number(Some(value)).map_err(arg_err)?;
                format_float(&spec, conv, v)
            }
            b'f' | b'e' | b'E' | b'g' | b'G' => {
                let v = check_number(Some(value)).map_err(arg_err)?;
                let spec = check_format(form, FLAGS_F, true).map_err(EngineError::Msg)?;
                format_float(&spec, conv, v)
            }
            b'p' => {
                let spec = check_format(form, FLAGS_C, false).map_err(EngineError::Msg)?;
                match pointer(arg - 1) {
                    Some(p) => pad(&spec, b"0x", format!("{p:x}").as_bytes(), false),
                    None => pad(&spec, b"", b"(null)", false),
                }
            }
            b'q' => {
                if len > 1 {
                    return Err(EngineError::Msg(
                        "specifier '%q' cannot have modifiers".into(),
                    ));
                }
                // Escaping looks at every byte of the argument (and may write four for one):
                // paid on the input, before the work, beyond the bytes written.
                if let Some(s) = value.str_bytes() {
                    charge(3 * s.len())?;
                }
                quote(value).map_err(arg_err)?
            }
            b's' => {
                let s: Vec<u8> = match value {
                    Arg::Str(s) | Arg::NamedStr(s, _) => s.to_vec(),
                    Arg::Int(v) => v.to_string().into_bytes(),
                    Arg::Float(f) => float_to_string(*f).into_bytes(),
                    Arg::Nil => b"nil".to_vec(),
                    Arg::Bool(b) => b.to_string().into_bytes(),
                    Arg::Other {
                        type_name,
                        tostring,
                    } => tostring.map_or_else(|| type_name.as_bytes().to_vec(), |t| t.to_vec()),
                };
                if len == 1 {
                    s
                } else {
                    if s.contains(&0) {
                        return Err(arg_err("string contains zeros".into()));
                    }
                    let spec = check_format(form, FLAGS_C, true).map_err(EngineError::Msg)?;
                    if spec.precision.is_none() && s.len() >= 100 {
                        s
                    } else {
                        let cut = spec.precision.map_or(s.len(), |p| p.min(s.len()));
                        pad(&spec, b"", &s[..cut], false)
                    }
                }
            }
            _ => {
                // The message shows the specification as C's %s would: up to a NUL.
                let shown: Vec<u8> = form.iter().copied().take_while(|&c| c != 0).collect();
                return Err(EngineError::Msg(format!(
                    "invalid conversion '%{}' to 'format'",
                    String::from_utf8_lossy(&shown)
                )));
            }
        };
        charge(piece.len())?;
        out.extend_from_slice(&piece);
    }
    Ok(out)
}

/// Pads `prefix` + `body` to the spec's width: left-justified with `-`, with zeros between
/// prefix and body when `zero_ok` (the `0` flag applies and `-` is absent), else spaces.
fn pad(spec: &Spec, prefix: &[u8], body: &[u8], zero_ok: bool) -> Vec<u8> {
    let len = prefix.len() + body.len();
    let fill = spec.width.saturating_sub(len);
    let mut out = Vec::with_capacity(len + fill);
    if spec.minus {
        out.extend_from_slice(prefix);
        out.extend_from_slice(body);
        out.resize(len + fill, b' ');
    } else if zero_ok && spec.zero {
        out.extend_from_slice(prefix);
        out.resize(prefix.len() + fill, b'0');
        out.extend_from_slice(body);
    } else {
        out.resize(fill, b' ');
        out.extend_from_slice(prefix);
        out.extend_from_slice(body);
    }
    out
}

fn sign_prefix(spec: &Spec, negative: bool) -> &'static [u8] {
    if negative {
        b"-"
    } else if spec.plus {
        b"+"
    } else if spec.space {
        b" "
    } else {
        b""
    }
}

/// printf's integer conversions with `ll` length.
fn format_int(spec: &Spec, conv: u8, v: i64) -> Vec<u8> {
    let negative = matches!(conv, b'd' | b'i') && v < 0;
    let mut digits = match conv {
        b'd' | b'i' => v.unsigned_abs().to_string(),
        b'u' => (v as u64).to_string(),
        b'o' => format!("{:o}", v as u64),
        b'x' => format!("{:x}", v as u64),
        _ => format!("{:X}", v as u64),
    };
    if spec.precision == Some(0) && v == 0 {
        digits.clear();
    }
    let prec = spec.precision.unwrap_or(0);
    if digits.len() < prec {
        digits = "0".repeat(prec - digits.len()) + &digits;
    }
    let mut prefix: &[u8] = if matches!(conv, b'd' | b'i') {
        sign_prefix(spec, negative)
    } else {
        b""
    };
    if spec.hash {
        match conv {
            b'o' if !digits.starts_with('0') => digits.insert(0, '0'),
            b'x' if v != 0 => prefix = b"0x",
            b'X' if v != 0 => prefix = b"0X",
            _ => {}
        }
    }
    // The 0 flag is ignored when a precision is given.
    pad(spec, prefix, digits.as_bytes(), spec.precision.is_none())
}

/// printf's float conversions (`e E f g G a A`) with glibc's output.
fn format_float(spec: &Spec, conv: u8, v: f64) -> Vec<u8> {
    let upper = conv.is_ascii_uppercase();
    let negative = v.is_sign_negative();
    let prefix = sign_prefix(spec, negative);
    if !v.is_finite() {
        let body = match (v.is_nan(), upper) {
            (true, false) => "nan",
            (true, true) => "NAN",
            (false, false) => "inf",
            (false, true) => "INF",
        };
        return pad(spec, prefix, body.as_bytes(), false);
    }
    let a = v.abs();
    let body = match conv.to_ascii_lowercase() {
        b'f' => {
            let mut s = format!("{:.*}", spec.precision.unwrap_or(6), a);
            if spec.hash && !s.contains('.') {
                s.push('.');
            }
            s
        }
        b'e' => format_e(a, spec.precision.unwrap_or(6), spec.hash),
        b'g' => format_g(a, spec.precision.unwrap_or(6), spec.hash),
        _ => {
            let (hex_prefix, body) = format_a(a, spec.precision, spec.hash);
            let mut p = prefix.to_vec();
            p.extend_from_slice(hex_prefix.as_bytes());
            let (p, body) = if upper {
                (p.to_ascii_uppercase(), body.to_ascii_uppercase())
            } else {
                (p, body)
            };
            return pad(spec, &p, body.as_bytes(), true);
        }
    };
    let body = if upper {
        body.to_ascii_uppercase()
    } else {
        body
    };
    pad(spec, prefix, body.as_bytes(), true)
}

/// `%.{p}e` of a non-negative finite value.
fn format_e(a: f64, p: usize, hash: bool) -> String {
    let s = format!("{:.*e}", p, a);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let x: i32 = exp.parse().unwrap_or(0);
    let mut m = mant.to_string();
    if hash && !m.contains('.') {
        m.push('.');
    }
    format!("{}e{}{:02}", m, if x < 0 { '-' } else { '+' }, x.abs())
}

/// `%.{p}g` of a non-negative finite value.
fn format_g(a: f64, p: usize, hash: bool) -> String {
    let p = p.max(1);
    let e_repr = format!("{:.*e}", p - 1, a);
    let x: i32 = e_repr
        .split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    let mut s = if x < -4 || x >= p as i32 {
        format_e(a, p - 1, hash)
    } else {
        let mut s = format!("{:.*}", (p as i32 - 1 - x).max(0) as usize, a);
        if hash && !s.contains('.') {
            s.push('.');
        }
        s
    };
    if !hash {
        // Strip trailing zeros of the fraction (before any exponent).
        let (num, exp) = match s.find('e') {
            Some(k) => (s[..k].to_string(), s[k..].to_string()),
            None => (s.clone(), String::new()),
        };
        let mut num = num;
        if num.contains('.') {
            while num.ends_with('0') {
                num.pop();
            }
            if num.ends_with('.') {
                num.pop();
            }
        }
        s = num + &exp;
    }
    s
}

/// glibc's `%a` of a non-negative finite value: (`"0x"`, digits and exponent). Normal
/// numbers print a leading `1`, subnormals a leading `0` with exponent -1022; with a precision
/// the fraction is rounded to nearest-even (the leading digit may become `2`).
fn format_a(a: f64, precision: Option<usize>, hash: bool) -> (&'static str, String) {
    let bits = a.to_bits();
    let biased = (bits >> 52) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    let (mut lead, exp) = if biased == 0 {
        (0u64, if frac == 0 { 0 } else { -1022 })
    } else {
        (1u64, biased - 1023)
    };
    // 13 hex digits of fraction.
    let mut digits: Vec<u8> = (0..13)
        .rev()
        .map(|k| ((frac >> (4 * k)) & 0xf) as u8)
        .collect();
    match precision {
        None => {
            while digits.last() == Some(&0) {
                digits.pop();
            }
        }
        Some(p) if p < 13 => {
            // Round the 52-bit fraction to 4p bits, ties to even.
            let drop = 52 - 4 * p as u32;
            let kept = frac >> drop;
            let rest = frac & ((1u64 << drop) - 1);
            let half = 1u64 << (drop - 1);
            let mut kept_full = (lead << (4 * p)) | kept;
            if rest > half || (rest == half && kept_full & 1 == 1) {
                kept_full += 1;
            }
            lead = kept_full >> (4 * p);
            let kept = kept_full & ((1u64 << (4 * p)) - 1);
            digits = (0..p)
                .rev()
                .map(|k| ((kept >> (4 * k)) & 0xf) as u8)
                .collect();
        }
        Some(p) => digits.resize(p, 0),
    }
    let hex = |d: u8| char::from_digit(d as u32, 16).unwrap_or('0');
    let mut s = String::new();
    s.push(hex(lead as u8));
    if !digits.is_empty() || hash {
        s.push('.');
    }
    s.extend(digits.into_iter().map(hex));
    s.push_str(&format!("p{:+}", exp));
    ("0x", s)
}

/// `%q` (`addliteral`).
fn quote(value: &Arg) -> Result<Vec<u8>, String> {
    match value {
        Arg::Str(s) | Arg::NamedStr(s, _) => {
            let mut out = Vec::with_capacity(s.len() + 2);
            out.push(b'"');
            for (k, &c) in s.iter().enumerate() {
                if c == b'"' || c == b'\\' || c == b'\n' {
                    out.push(b'\\');
                    out.push(c);
                } else if c.is_ascii_control() {
                    let next_digit = s.get(k + 1).is_some_and(|d| d.is_ascii_digit());
                    let esc = if next_digit {
                        format!("\\{:03}", c)
                    } else {
                        format!("\\{}", c)
                    };
                    out.extend_from_slice(esc.as_bytes());
                } else {
                    out.push(c);
                }
            }
            out.push(b'"');
            Ok(out)
        }
        Arg::Int(i) => Ok(if *i == i64::MIN {
            b"0x8000000000000000".to_vec()
        } else {
            i.to_string().into_bytes()
        }),
        Arg::Float(f) => Ok(if *f == f64::INFINITY {
            b"1e9999".to_vec()
        } else if *f == f64::NEG_INFINITY {
            b"-1e9999".to_vec()
        } else if f.is_nan() {
            b"(0/0)".to_vec()
        } else {
            format_float(&Spec::default(), b'a', *f)
        }),
        Arg::Nil => Ok(b"nil".to_vec()),
        Arg::Bool(b) => Ok(b.to_string().into_bytes()),
        Arg::Other { .. } => Err("value has no literal form".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(f: &str, args: &[Arg]) -> Result<String, String> {
        match format(f.as_bytes(), args, &mut |_| Ok::<(), ()>(())) {
            Ok(v) => Ok(String::from_utf8_lossy(&v).into_owned()),
            Err(e) => Err(e.render("format").unwrap_or_default()),
        }
    }

    #[test]
    fn conversions() {
        use Arg::*;
        assert_eq!(
            fmt("%5.2f|%-5d|%05d", &[Float(2.71528), Int(3), Int(-5)]),
            Ok(" 2.72|3    |-0005".into())
        );
        assert_eq!(
            fmt("%#x %#o %+d % d", &[Int(255), Int(8), Int(5), Int(5)]),
            Ok("0xff 010 +5  5".into())
        );
        assert_eq!(fmt("%x", &[Int(-1)]), Ok("ffffffffffffffff".into()));
        assert_eq!(
            fmt("%.0d|%#.0o|%#.3x", &[Int(0), Int(0), Int(0)]),
            Ok("|0|000".into())
        );
        assert_eq!(
            fmt("%g %g %g", &[Float(1e20), Float(0.0001), Float(100000.0)]),
            Ok("1e+20 0.0001 100000".into())
        );
        assert_eq!(
            fmt("%#g|%G", &[Float(1.0), Float(1e-20)]),
            Ok("1.00000|1E-20".into())
        );
        assert_eq!(fmt("%e", &[Float(12345.678)]), Ok("1.234568e+04".into()));
        assert_eq!(
            fmt(
                "%010f|%-6f|%+f",
                &[
                    Float(f64::INFINITY),
                    Float(f64::NEG_INFINITY),
                    Float(f64::NAN)
                ]
            ),
            Ok("       inf|-inf  |+nan".into())
        );
        assert_eq!(
            fmt("%a %A %a %a", &[Int(1), Int(3), Float(0.1), Int(0)]),
            Ok("0x1p+0 0X1.8P+1 0x1.999999999999ap-4 0x0p+0".into())
        );
        assert_eq!(
            fmt("%.0a %.1a %a", &[Float(1.5), Float(1.96875), Float(5e-324)]),
            Ok("0x2p+0 0x2.0p+0 0x0.0000000000001p-1022".into())
        );
        assert_eq!(
            fmt("%012a|%#.0a", &[Float(-1.5), Float(1.0)]),
            Ok("-0x0001.8p+0|0x1.p+0".into())
        );
        assert_eq!(
            fmt("%5s|%-5s|%.2s", &[Str(b"ab"), Str(b"ab"), Str(b"abc")]),
            Ok("   ab|ab   |ab".into())
        );
        assert_eq!(fmt("%c%c", &[Int(65), Int(256 + 66)]), Ok("AB".into()));
        assert_eq!(
            fmt("%s %s %s", &[Int(1), Float(1.0), Nil]),
            Ok("1 1.0 nil".into())
        );
        assert_eq!(fmt("%d", &[Str(b"10")]), Ok("10".into()));
        assert_eq!(
            fmt("%5%", &[]),
            Err("bad argument #2 to 'format' (no value)".into())
        );
    }

    #[test]
    fn alternate_forms() {
        use Arg::*;
        assert_eq!(
            fmt(
                "%#.0g|%#.0e|%#.0f|%.0g|%#g|%g",
                &[Int(0), Int(1), Int(2), Float(0.5), Int(0), Float(1e-5)]
            ),
            Ok("0.|1.e+00|2.|0.5|0.00000|1e-05".into())
        );
    }

    #[test]
    fn quoting() {
        use Arg::*;
        assert_eq!(
            fmt("%q", &[Str(b"a\0b\x001\r\n\"\\\x7f2")]),
            Ok("\"a\\0b\\0001\\13\\\n\\\"\\\\\\1272\"".into())
        );
        assert_eq!(fmt("%q", &[Int(i64::MIN)]), Ok("0x8000000000000000".into()));
        assert_eq!(
            fmt(
                "%q %q %q",
                &[Float(f64::INFINITY), Float(-f64::INFINITY), Float(f64::NAN)]
            ),
            Ok("1e9999 -1e9999 (0/0)".into())
        );
        assert_eq!(
            fmt("%q %q", &[Float(0.5), Float(1.0)]),
            Ok("0x1p-1 0x1p+0".into())
        );
        assert_eq!(fmt("%q %q", &[Nil, Bool(true)]), Ok("nil true".into()));
    }

    #[test]
    fn errors() {
        use Arg::*;
        let t = Other {
            type_name: "table",
            tostring: None,
        };
        assert_eq!(
            fmt("%10.123f", &[Int(1)]),
            Err("invalid conversion specification: '%10.123f'".into())
        );
        assert_eq!(
            fmt("%99999999d", &[Int(1)]),
            Err("invalid conversion specification: '%99999999d'".into())
        );
        assert_eq!(
            fmt("%", &[Int(1)]),
            Err("invalid conversion '%' to 'format'".into())
        );
        assert_eq!(
            fmt("%y", &[Int(1)]),
            Err("invalid conversion '%y' to 'format'".into())
        );
        assert_eq!(
            fmt("%d", &[]),
            Err("bad argument #2 to 'format' (no value)".into())
        );
        assert_eq!(
            fmt("%d", &[Float(1.5)]),
            Err("bad argument #2 to 'format' (number has no integer representation)".into())
        );
        assert_eq!(
            fmt("%d", &[Str(b"x")]),
            Err("bad argument #2 to 'format' (number expected, got string)".into())
        );
        assert_eq!(
            fmt("%q", &[t]),
            Err("bad argument #2 to 'format' (value has no literal form)".into())
        );
        assert_eq!(
            fmt("%10q", &[Str(b"a")]),
            Err("specifier '%q' cannot have modifiers".into())
        );
        assert_eq!(
            fmt("%5s", &[Str(b"a\0b")]),
            Err("bad argument #2 to 'format' (string contains zeros)".into())
        );
        assert_eq!(
            fmt("%-----------------------d", &[Int(1)]),
            Err("invalid format (too long)".into())
        );
    }

    #[test]
    fn budget_refuses_large_output() {
        let big = vec![b'x'; 1000];
        let r = format(b"%s%s", &[Arg::Str(&big), Arg::Str(&big)], &mut |n| {
            if n > 500 {
                Err("too big")
            } else {
                Ok(())
            }
        });
        assert_eq!(r, Err(EngineError::Abort("too big")));
    }

    #[test]
    fn pointers() {
        let args = [Arg::Str(b"x"), Arg::Int(1)];
        let r = format_with_pointers(
            b"%p|%-8p|%10p",
            &[args[0], args[1], args[0]],
            &|i| (i != 1).then_some(0xabc),
            &mut |_| Ok::<(), ()>(()),
        );
        assert_eq!(r, Ok(b"0xabc|(null)  |     0xabc".to_vec()));
    }

    #[test]
    fn tostring_args_lists_percent_s() {
        assert_eq!(tostring_args(b"%d %s %%%5s %q"), vec![1, 2]);
    }
}
