//! `string.pack`, `string.packsize` and `string.unpack`, exactly as Lua 5.4's lstrlib on a
//! 64-bit little-endian machine (`int` 4 bytes, `long`/`size_t`/`lua_Integer` 8, native
//! maximum alignment 8).
//!
//! This module owns the format-string reader (`getoption`/`getdetails` with their alignment
//! rules and error messages) and the byte encodings. Values come in as [`Arg`]s (so the
//! argument conversions and their error messages are Lua's) and go out as [`Value`]s. Every
//! engine takes a budget hook charged with the bytes it produces, so long strings, huge `c`
//! sizes and `x` padding can be refused before they are built.

use crate::{check_integer, check_number, check_string, Arg, EngineError};

type Res<T, A> = Result<T, EngineError<A>>;

/// lstrlib's `MAXINTSIZE`.
const MAX_INT_SIZE: usize = 16;
/// `sizeof(lua_Integer)`.
const SZINT: usize = 8;
/// lstrlib's `MAXSIZE` on a 64-bit machine (`INT_MAX`, since `size_t` is larger than `int`).
const MAXSIZE: usize = i32::MAX as usize;
/// `offsetof(struct cD, u)`: the native maximum alignment.
const NATIVE_ALIGN: usize = 8;

/// A value `string.unpack` produces.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Str(Vec<u8>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Int,
    Uint,
    Float,
    Number,
    Double,
    Char,
    Str,
    Zstr,
    Padding,
    PadAlign,
    Nop,
}

/// The format reader's state (lstrlib's `Header` plus the cursor).
struct Reader<'f> {
    fmt: &'f [u8],
    pos: usize,
    little: bool,
    maxalign: usize,
}

fn msg<T, A>(m: String) -> Res<T, A> {
    Err(EngineError::Msg(m))
}

fn arg_err<T, A>(n: usize, m: &str) -> Res<T, A> {
    Err(EngineError::Arg { n, msg: m.into() })
}

impl<'f> Reader<'f> {
    fn new(fmt: &'f [u8]) -> Self {
        // luaL_checkstring: the format ends at the first NUL.
        let end = fmt.iter().position(|&c| c == 0).unwrap_or(fmt.len());
        Reader {
            fmt: &fmt[..end],
            pos: 0,
            little: true,
            maxalign: 1,
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.fmt.len()
    }

    /// `getnum`: digits, stopping early (as C does) once the value would overflow.
    fn getnum(&mut self, df: usize) -> usize {
        match self.fmt.get(self.pos) {
            Some(c) if c.is_ascii_digit() => {
                let mut a = 0usize;
                loop {
                    a = a * 10 + (self.fmt[self.pos] - b'0') as usize;
                    self.pos += 1;
                    let more = self.fmt.get(self.pos).is_some_and(|c| c.is_ascii_digit());
                    if !(more && a <= (MAXSIZE - 9) / 10) {
                        break;
                    }
                }
                a
            }
            _ => df,
        }
    }

    fn getnumlimit<A>(&mut self, df: usize) -> Res<usize, A> {
        let sz = self.getnum(df);
        if sz > MAX_INT_SIZE || sz == 0 {
            return msg(format!(
                "integral size ({sz}) out of limits [1,{MAX_INT_SIZE}]"
            ));
        }
        Ok(sz)
    }

    /// `getoption`: the next option and its size.
    fn option<A>(&mut self) -> Res<(Kind, usize), A> {
        let opt = self.fmt[self.pos];
        self.pos += 1;
        Ok(match opt {
            b'b' => (Kind::Int, 1),
            b'B' => (Kind::Uint, 1),
            b'h' => (Kind::Int, 2),
            b'H' => (Kind::Uint, 2),
            b'l' | b'j' => (Kind::Int, 8),
            b'L' | b'J' | b'T' => (Kind::Uint, 8),
            b'f' => (Kind::Float, 4),
            b'n' => (Kind::Number, 8),
            b'd' => (Kind::Double, 8),
            b'i' => (Kind::Int, self.getnumlimit(4)?),
            b'I' => (Kind::Uint, self.getnumlimit(4)?),
            b's' => (Kind::Str, self.getnumlimit(8)?),
            b'c' => match self.fmt.get(self.pos) {
                Some(c) if c.is_ascii_digit() => (Kind::Char, self.getnum(0)),
                _ => return msg("missing size for format option 'c'".into()),
            },
            b'z' => (Kind::Zstr, 0),
            b'x' => (Kind::Padding, 1),
            b'X' => (Kind::PadAlign, 0),
            b' ' => (Kind::Nop, 0),
            b'<' | b'=' => {
                self.little = true;
                (Kind::Nop, 0)
            }
            b'>' => {
                self.little = false;
                (Kind::Nop, 0)
            }
            b'!' => {
                self.maxalign = self.getnumlimit(NATIVE_ALIGN)?;
                (Kind::Nop, 0)
            }
            _ => {
                return msg(format!(
                    "invalid format option '{}'",
                    String::from_utf8_lossy(&[opt])
                ))
            }
        })
    }

    /// `getdetails`: the next option, its size and the padding it needs at offset `total`.
    fn details<A>(&mut self, total: usize) -> Res<(Kind, usize, usize), A> {
        let (kind, size) = self.option()?;
        let mut align = size;
        if kind == Kind::PadAlign {
            // 'X' takes its alignment from the next option, which it consumes.
            let bad = if self.at_end() {
                true
            } else {
                let (next, nsize) = self.option()?;
                align = nsize;
                next == Kind::Char || align == 0
            };
            if bad {
                return arg_err(1, "invalid next option for option 'X'");
            }
        }
        let ntoalign = if align <= 1 || kind == Kind::Char {
            0
        } else {
            let align = align.min(self.maxalign);
            if !align.is_power_of_two() {
                return arg_err(1, "format asks for alignment not power of 2");
            }
            (align - (total & (align - 1))) & (align - 1)
        };
        Ok((kind, size, ntoalign))
    }
}

/// `packint`: `size` bytes of `n`, sign-extending past 8 bytes when `neg`.
fn pack_int(out: &mut Vec<u8>, n: u64, little: bool, size: usize, neg: bool) {
    let mut bytes = vec![0u8; size];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = if i < SZINT {
            (n >> (8 * i)) as u8
        } else if neg {
            0xff
        } else {
            0
        };
    }
    if !little {
        bytes.reverse();
    }
    out.extend_from_slice(&bytes);
}

/// `string.pack(fmt, ...)`: `args` are the values after the format (Lua's #2 onwards).
/// Missing values behave as `nil` (lstrlib pushes a nil mark above the arguments).
pub fn pack<A>(
    fmt: &[u8],
    args: &[Arg],
    budget: &mut dyn FnMut(u64) -> Result<(), A>,
) -> Res<Vec<u8>, A> {
    let mut r = Reader::new(fmt);
    let mut out = Vec::new();
    let mut total = 0usize;
    let mut argi = 0usize;
    let mut charge = |n: usize| budget(n as u64).map_err(EngineError::Abort);
    while !r.at_end() {
        let (kind, size, ntoalign) = r.details(total)?;
        total = total.saturating_add(ntoalign + size);
        charge(ntoalign)?;
        out.resize(out.len() + ntoalign, 0);
        if matches!(kind, Kind::Padding | Kind::PadAlign | Kind::Nop) {
            if kind == Kind::Padding {
                charge(1)?;
                out.push(0);
            }
            continue;
        }
        let n = argi + 2;
        let value = Some(args.get(argi).unwrap_or(&Arg::Nil));
        argi += 1;
        let bad = |m: String| EngineError::Arg { n, msg: m };
        match kind {
            Kind::Int => {
                let v = check_integer(value).map_err(bad)?;
                if size < SZINT {
                    let lim = 1i64 << (size * 8 - 1);
                    if !(-lim <= v && v < lim) {
                        return arg_err(n, "integer overflow");
                    }
                }
                charge(size)?;
                pack_int(&mut out, v as u64, r.little, size, v < 0);
            }
            Kind::Uint => {
                let v = check_integer(value).map_err(bad)?;
                if size < SZINT && (v as u64) >= (1u64 << (size * 8)) {
                    return arg_err(n, "unsigned overflow");
                }
                charge(size)?;
                pack_int(&mut out, v as u64, r.little, size, false);
            }
            Kind::Float | Kind::Number | Kind::Double => {
                let v = check_number(value).map_err(bad)?;
                charge(size)?;
                let mut bytes = if kind == Kind::Float {
                    (v as f32).to_le_bytes().to_vec()
                } else {
                    v.to_le_bytes().to_vec()
                };
                if !r.little {
                    bytes.reverse();
                }
                out.extend_from_slice(&bytes);
            }
            Kind::Char => {
                let s = check_string(value).map_err(bad)?;
                if s.len() > size {
                    return arg_err(n, "string longer than given size");
                }
                charge(size)?;
                out.extend_from_slice(&s);
                out.resize(out.len() + size - s.len(), 0);
            }
            Kind::Str => {
                let s = check_string(value).map_err(bad)?;
                if size < 8 && (s.len() as u64) >= (1u64 << (size * 8)) {
                    return arg_err(n, "string length does not fit in given size");
                }
                charge(size + s.len())?;
                pack_int(&mut out, s.len() as u64, r.little, size, false);
                out.extend_from_slice(&s);
                total = total.saturating_add(s.len());
            }
            Kind::Zstr => {
                let s = check_string(value).map_err(bad)?;
                if s.contains(&0) {
                    return arg_err(n, "string contains zeros");
                }
                charge(s.len() + 1)?;
                out.extend_from_slice(&s);
                out.push(0);
                total = total.saturating_add(s.len() + 1);
            }
            Kind::Padding | Kind::PadAlign | Kind::Nop => {}
        }
    }
    Ok(out)
}

/// `string.packsize(fmt)`.
pub fn packsize<A>(fmt: &[u8]) -> Res<i64, A> {
    let mut r = Reader::new(fmt);
    let mut total = 0usize;
    while !r.at_end() {
        let (kind, size, ntoalign) = r.details(total)?;
        if matches!(kind, Kind::Str | Kind::Zstr) {
            return arg_err(1, "variable-length format");
        }
        let size = size + ntoalign;
        // `size` never exceeds MAXSIZE: getnum stops below it.
        if total > MAXSIZE.saturating_sub(size) {
            return arg_err(1, "format result too large");
        }
        total += size;
    }
    Ok(total as i64)
}

/// `unpackint`.
fn unpack_int(b: &[u8], little: bool, size: usize, signed: bool) -> Result<i64, String> {
    let byte = |i: usize| if little { b[i] } else { b[size - 1 - i] };
    let limit = size.min(SZINT);
    let mut res = 0u64;
    for i in (0..limit).rev() {
        res = (res << 8) | byte(i) as u64;
    }
    if size < SZINT {
        if signed {
            let mask = 1u64 << (size * 8 - 1);
            res = (res ^ mask).wrapping_sub(mask);
        }
    } else if size > SZINT {
        let mask = if !signed || (res as i64) >= 0 {
            0
        } else {
            0xff
        };
        if (limit..size).any(|i| byte(i) != mask) {
            return Err(format!("{size}-byte integer does not fit into Lua Integer"));
        }
    }
    Ok(res as i64)
}

/// `string.unpack(fmt, data, init)`: the values and the next position (1-based, as Lua
/// returns it). `init` is Lua's third argument (default 1), negative counting from the end.
/// The budget is charged one unit per value plus the bytes of each string produced.
pub fn unpack<A>(
    fmt: &[u8],
    data: &[u8],
    init: i64,
    budget: &mut dyn FnMut(u64) -> Result<(), A>,
) -> Res<(Vec<Value>, i64), A> {
    let ld = data.len();
    // posrelatI
    let init = if init > 0 {
        init as u64
    } else if init == 0 || init.unsigned_abs() > ld as u64 {
        1
    } else {
        (ld as i64 + init + 1) as u64
    };
    let pos = init - 1;
    if pos > ld as u64 {
        return arg_err(3, "initial position out of string");
    }
    let mut pos = pos as usize;
    let mut r = Reader::new(fmt);
    let mut values = Vec::new();
    let mut charge = |n: usize| budget(n as u64).map_err(EngineError::Abort);
    while !r.at_end() {
        let (kind, size, ntoalign) = r.details(pos)?;
        if ntoalign.saturating_add(size) > ld - pos {
            return arg_err(2, "data string too short");
        }
        pos += ntoalign;
        let b = &data[pos..];
        let value = match kind {
            Kind::Int | Kind::Uint => Value::Int(
                unpack_int(b, r.little, size, kind == Kind::Int).map_err(EngineError::Msg)?,
            ),
            Kind::Float => {
                let mut a = [0u8; 4];
                a.copy_from_slice(&b[..4]);
                if !r.little {
                    a.reverse();
                }
                Value::Float(f32::from_le_bytes(a) as f64)
            }
            Kind::Number | Kind::Double => {
                let mut a = [0u8; 8];
                a.copy_from_slice(&b[..8]);
                if !r.little {
                    a.reverse();
                }
                Value::Float(f64::from_le_bytes(a))
            }
            Kind::Char => {
                charge(size)?;
                Value::Str(b[..size].to_vec())
            }
            Kind::Str => {
                let len = unpack_int(b, r.little, size, false).map_err(EngineError::Msg)? as u64;
                if len > (ld - pos - size) as u64 {
                    return arg_err(2, "data string too short");
                }
                let len = len as usize;
                charge(len)?;
                let s = b[size..size + len].to_vec();
                pos += len;
                Value::Str(s)
            }
            Kind::Zstr => {
                let Some(len) = b.iter().position(|&c| c == 0) else {
                    return arg_err(2, "unfinished string for format 'z'");
                };
                charge(len)?;
                let s = b[..len].to_vec();
                pos += len + 1;
                Value::Str(s)
            }
            Kind::Padding | Kind::PadAlign | Kind::Nop => {
                pos += size;
                continue;
            }
        };
        charge(1)?;
        values.push(value);
        pos += size;
    }
    Ok((values, pos as i64 + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free(_: u64) -> Result<(), ()> {
        Ok(())
    }

    fn render<T>(r: Res<T, ()>, name: &str) -> Result<T, String> {
        r.map_err(|e| e.render(name).unwrap_or_default())
    }

    #[test]
    fn round_trips() {
        let args = [
            Arg::Int(-2),
            Arg::Int(300),
            Arg::Float(1.5),
            Arg::Str(b"hi"),
            Arg::Str(b"zz"),
        ];
        let packed = render(pack(b"<i2>I3!4d s1 z", &args, &mut free), "pack").unwrap_or_default();
        let (vals, next) =
            render(unpack(b"<i2>I3!4d s1 z", &packed, 1, &mut free), "unpack").unwrap_or_default();
        assert_eq!(
            vals,
            vec![
                Value::Int(-2),
                Value::Int(300),
                Value::Float(1.5),
                Value::Str(b"hi".to_vec()),
                Value::Str(b"zz".to_vec())
            ]
        );
        assert_eq!(next, packed.len() as i64 + 1);
        assert_eq!(
            render(pack(b"i16", &[Arg::Int(-1)], &mut free), "pack"),
            Ok(vec![0xff; 16])
        );
        assert_eq!(render(packsize::<()>(b"!8i2i8"), "packsize"), Ok(16));
    }

    #[test]
    fn errors() {
        assert_eq!(
            render(pack(b"i17", &[Arg::Int(1)], &mut free), "pack"),
            Err("integral size (17) out of limits [1,16]".into())
        );
        assert_eq!(
            render(pack(b"y", &[], &mut free), "pack"),
            Err("invalid format option 'y'".into())
        );
        assert_eq!(
            render(pack(b"!3i4", &[Arg::Int(1)], &mut free), "pack"),
            Err("bad argument #1 to 'pack' (format asks for alignment not power of 2)".into())
        );
        assert_eq!(
            render(pack(b"X", &[], &mut free), "pack"),
            Err("bad argument #1 to 'pack' (invalid next option for option 'X')".into())
        );
        assert_eq!(
            render(pack(b"i1", &[Arg::Int(200)], &mut free), "pack"),
            Err("bad argument #2 to 'pack' (integer overflow)".into())
        );
        assert_eq!(
            render(pack(b"I1", &[Arg::Int(-1)], &mut free), "pack"),
            Err("bad argument #2 to 'pack' (unsigned overflow)".into())
        );
        assert_eq!(
            render(pack(b"i", &[], &mut free), "pack"),
            Err("bad argument #2 to 'pack' (number expected, got nil)".into())
        );
        assert_eq!(
            render(pack(b"c", &[], &mut free), "pack"),
            Err("missing size for format option 'c'".into())
        );
        assert_eq!(
            render(packsize::<()>(b"s"), "packsize"),
            Err("bad argument #1 to 'packsize' (variable-length format)".into())
        );
        assert_eq!(
            render(packsize::<()>(b"c2147483640c100"), "packsize"),
            Err("invalid format option '0'".into())
        );
        assert_eq!(
            render(unpack(b"i16", &[1; 16], 1, &mut free), "unpack"),
            Err("16-byte integer does not fit into Lua Integer".into())
        );
        assert_eq!(
            render(unpack(b"z", b"abc", 1, &mut free), "unpack"),
            Err("bad argument #2 to 'unpack' (unfinished string for format 'z')".into())
        );
        assert_eq!(
            render(unpack(b"i4", b"abc", 1, &mut free), "unpack"),
            Err("bad argument #2 to 'unpack' (data string too short)".into())
        );
        assert_eq!(
            render(unpack(b"i4", b"abcd", 10, &mut free), "unpack"),
            Err("bad argument #3 to 'unpack' (initial position out of string)".into())
        );
    }

    #[test]
    fn budget_refuses_huge_padding() {
        let r = pack(b"c2000000000", &[Arg::Str(b"")], &mut |n| {
            if n > 1 << 20 {
                Err("big")
            } else {
                Ok(())
            }
        });
        assert_eq!(r, Err(EngineError::Abort("big")));
    }
}
