//! Differential tests against the reference interpreter.
//!
//! When `lua5.4` is on the PATH, each test generates hundreds of random cases with a seeded
//! xorshift generator, runs them all through `lua5.4` in one script (each call under `pcall`,
//! every result encoded as text), runs the same cases through this crate's engines, and
//! compares line by line. Without `lua5.4` the tests fail, unless `TESSERA_SKIP_LUA_DIFF=1`
//! says to skip them on purpose.
// Tests talk to the reference interpreter and write scratch files: the rules against
// ambient authority in clippy.toml are for the library code, not for its tests.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

use crate::format::format;
use crate::pack::{pack, packsize, unpack, Value};
use crate::pattern::{self, Capture, GmatchState, PatternError};
use crate::{Arg, EngineError};
use std::fmt::Write as _;
use std::process::Command;

/// xorshift64*: tiny, seeded, good enough to spread test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, c| {
        let _ = write!(s, "{c:02x}");
        s
    })
}

/// A Lua string literal for arbitrary bytes.
fn lit(b: &[u8]) -> String {
    let mut s = String::from("\"");
    for c in b {
        let _ = write!(s, "\\x{c:02x}");
    }
    s.push('"');
    s
}

/// A Lua expression for a float with exactly these bits.
fn float_lit(f: f64) -> String {
    format!("(string.unpack('<d', {}))", lit(&f.to_le_bytes()))
}

fn int_lit(i: i64) -> String {
    if i == i64::MIN {
        "math.mininteger".into()
    } else {
        i.to_string()
    }
}

/// The encoding helpers both sides agree on.
const PRELUDE: &str = r#"
local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
local function enc(v)
  local t = type(v)
  if t == "string" then return "s" .. hex(v)
  elseif math.type(v) == "integer" then return "i" .. tostring(v)
  elseif t == "number" then return "f" .. hex(string.pack("<d", v))
  else return tostring(v) end
end
local function res(ok, ...)
  if not ok then return "E" .. hex(tostring((...))) end
  local t = table.pack(...)
  local out = {}
  for i = 1, t.n do out[#out + 1] = enc(t[i]) end
  return table.concat(out, ",")
end
local function gm(s, p, init)
  local it = string.gmatch(s, p, init)
  local out = {}
  for _ = 1, 100 do
    -- Called through pcall so that the error carries no position, as the natives' won't.
    local r = table.pack(pcall(it))
    if not r[1] then error(r[2], 0) end
    if r[2] == nil then break end
    local e = {}
    for i = 2, r.n do e[#e + 1] = enc(r[i]) end
    out[#out + 1] = table.concat(e, ",")
  end
  return table.concat(out, ";")
end
"#;

fn enc_str(b: &[u8]) -> String {
    format!("s{}", hex(b))
}

fn enc_err(m: &str) -> String {
    format!("E{}", hex(m.as_bytes()))
}

fn enc_float(f: f64) -> String {
    format!("f{}", hex(&f.to_le_bytes()))
}

/// The variable that skips the differential tests on purpose when `lua5.4` is missing.
const SKIP_LUA_DIFF: &str = "TESSERA_SKIP_LUA_DIFF";

/// What a differential test does when lua5.4 does not run: a test must never pass without
/// comparing, so this panics, unless `TESSERA_SKIP_LUA_DIFF=1` asks to skip on purpose (then
/// it says so and returns `None`).
fn lua_missing(name: &str, skip: bool) -> Option<Vec<String>> {
    if skip {
        eprintln!("lua5.4 does not run and {SKIP_LUA_DIFF}=1: differential test {name} skipped");
        return None;
    }
    panic!(
        "lua5.4 does not run: differential test {name} compares with it and cannot pass \
         without it. Install the lua5.4 package (apt-get install lua5.4), or set \
         {SKIP_LUA_DIFF}=1 to skip it on purpose."
    )
}

/// Runs a script through lua5.4; `None` only when lua5.4 is missing and the differential
/// tests are skipped on purpose (see `lua_missing`).
fn run_lua(name: &str, script: &str) -> Option<Vec<String>> {
    let path = std::env::temp_dir().join(format!(
        "tessera-difftest-{}-{name}.lua",
        std::process::id()
    ));
    std::fs::write(&path, script).expect("the scratch script is written");
    let out = Command::new("lua5.4").arg(&path).output();
    let _ = std::fs::remove_file(&path);
    let Ok(out) = out else {
        return lua_missing(
            name,
            std::env::var_os(SKIP_LUA_DIFF).is_some_and(|v| v == "1"),
        );
    };
    assert!(
        out.status.success(),
        "lua5.4 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

/// Compares and reports; panics when any case differs.
fn compare(name: &str, cases: &[String], ours: &[String], theirs: &[String]) {
    assert_eq!(ours.len(), theirs.len(), "{name}: line counts differ");
    let mut bad = 0;
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        if a != b {
            bad += 1;
            if bad <= 10 {
                eprintln!(
                    "{name} mismatch: {}\n  ours:   {a}\n  lua5.4: {b}",
                    cases[i]
                );
            }
        }
    }
    let errors = ours.iter().filter(|l| l.starts_with('E')).count();
    let fails = ours.iter().filter(|l| *l == "nil" || l.is_empty()).count();
    eprintln!(
        "{name}: {} passed, {bad} failed ({errors} Lua errors, {fails} without result)",
        ours.len() - bad
    );
    assert_eq!(bad, 0, "{name}: {bad} mismatches");
}

fn free(_: u64) -> Result<(), ()> {
    Ok(())
}

// ---------------------------------------------------------------- patterns

fn random_pattern(r: &mut Rng) -> Vec<u8> {
    const ITEMS: &[&str] = &[
        "a", "b", "c", ".", "%a", "%d", "%s", "%w", "%p", "%A", "%S", "[ab]", "[^a]", "[a-c]",
        "[%a.]", "[%]]", "[]]", "%(", "%.", " ", "1", "x",
    ];
    const SPECIAL: &[&str] = &[
        "(", ")", "()", "%b()", "%bab", "%f[%w]", "%f[^a]", "%1", "%2", "%0", "$", "^", "%", "[a",
        "%f", "%b", "%z",
    ];
    let mut p = Vec::new();
    if r.chance(20) {
        p.push(b'^');
    }
    let mut open = 0;
    for _ in 0..r.below(7) {
        if r.chance(25) {
            let s = *r.pick(SPECIAL);
            match s {
                "(" => open += 1,
                ")" if open > 0 => open -= 1,
                _ => {}
            }
            p.extend_from_slice(s.as_bytes());
        } else {
            p.extend_from_slice(r.pick(ITEMS).as_bytes());
            if r.chance(40) {
                p.push(*r.pick(b"*+-?"));
            }
        }
        if open > 0 && r.chance(30) {
            p.push(b')');
            open -= 1;
        }
    }
    while open > 0 && r.chance(80) {
        p.push(b')');
        open -= 1;
    }
    if r.chance(10) {
        p.push(b'$');
    }
    p
}

fn random_subject(r: &mut Rng, max: usize) -> Vec<u8> {
    (0..r.below(max))
        .map(|_| *r.pick(b"aabbc().1 x]"))
        .collect()
}

fn cap_enc(subject: &[u8], c: &Capture) -> String {
    match *c {
        Capture::Span(a, b) => enc_str(&subject[a..b]),
        Capture::Position(p) => format!("i{}", p + 1),
    }
}

/// posrelatI(init, len) - 1, as lstrlib computes the 0-based start.
fn start_of(init: i64, len: usize) -> usize {
    let p = if init > 0 {
        init as u64
    } else if init == 0 || init.unsigned_abs() > len as u64 {
        1
    } else {
        (len as i64 + init + 1) as u64
    };
    (p - 1) as usize
}

fn pat_err(e: PatternError<()>) -> String {
    match e {
        PatternError::Lua(m) => enc_err(&m),
        PatternError::Abort(()) => enc_err("abort"),
    }
}

fn our_find(s: &[u8], p: &[u8], init: i64, find: bool) -> String {
    let start = start_of(init, s.len());
    if start > s.len() {
        return "nil".into();
    }
    if find && pattern::nospecials(p) {
        return match pattern::find_plain(s, p, start) {
            Some(i) => format!("i{},i{}", i + 1, i + p.len()),
            None => "nil".into(),
        };
    }
    match pattern::find_raw(s, p, start, true, &mut free) {
        Err(e) => pat_err(e),
        Ok(None) => "nil".into(),
        Ok(Some(m)) => match m.values(!find) {
            Err(e) => enc_err(&e),
            Ok(caps) => {
                let mut v: Vec<String> = Vec::new();
                if find {
                    v.push(format!("i{}", m.start + 1));
                    v.push(format!("i{}", m.end));
                }
                v.extend(caps.iter().map(|c| cap_enc(s, c)));
                v.join(",")
            }
        },
    }
}

fn our_gmatch(s: &[u8], p: &[u8], init: i64) -> String {
    let start = start_of(init, s.len());
    let mut g = GmatchState::new(s.len(), start);
    let mut out = Vec::new();
    for _ in 0..100 {
        match g.next(s, p, &mut free) {
            Err(e) => return pat_err(e),
            Ok(None) => break,
            Ok(Some(m)) => out.push(
                m.values()
                    .map(|c| cap_enc(s, &c))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        }
    }
    out.join(";")
}

fn our_gsub(s: &[u8], p: &[u8], repl: &[u8], max_n: i64) -> String {
    match pattern::gsub_str(s, p, repl, max_n, &mut free) {
        Err(e) => pat_err(e),
        Ok((out, n)) => format!("{},i{}", enc_str(&out.unwrap_or_else(|| s.to_vec())), n),
    }
}

#[test]
fn patterns_match_lua() {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let mut script = String::from(PRELUDE);
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    for case in 0..2000 {
        // The last quarter uses longer subjects, for deeper backtracking.
        let s = random_subject(&mut r, if case < 1500 { 12 } else { 40 });
        let p = random_pattern(&mut r);
        let init: i64 = if r.chance(70) {
            1
        } else {
            r.below(s.len() + 4) as i64 - 2
        };
        let repl = r
            .pick(&["-", "%0", "%1", "<%2>", "%%", "x%", "%a", "[%1%0]"])
            .as_bytes();
        let max_n: i64 = if r.chance(80) {
            s.len() as i64 + 1
        } else {
            r.below(3) as i64
        };
        let (ls, lp, lr) = (lit(&s), lit(&p), lit(repl));
        let desc = format!(
            "s={:?} p={:?} init={init} repl={:?} n={max_n}",
            String::from_utf8_lossy(&s),
            String::from_utf8_lossy(&p),
            String::from_utf8_lossy(repl)
        );
        for op in 0..4 {
            let _ = match op {
                0 => writeln!(script, "print(res(pcall(string.find, {ls}, {lp}, {init})))"),
                1 => writeln!(
                    script,
                    "print(res(pcall(string.match, {ls}, {lp}, {init})))"
                ),
                2 => writeln!(
                    script,
                    "print(res(pcall(string.gsub, {ls}, {lp}, {lr}, {max_n})))"
                ),
                _ => writeln!(script, "print(res(pcall(gm, {ls}, {lp}, {init})))"),
            };
            ours.push(match op {
                0 => our_find(&s, &p, init, true),
                1 => our_find(&s, &p, init, false),
                2 => our_gsub(&s, &p, repl, max_n),
                _ => {
                    // Our gmatch result is wrapped like a successful pcall of `gm`.
                    let g = our_gmatch(&s, &p, init);
                    if g.starts_with('E') {
                        g
                    } else {
                        enc_str(g.as_bytes())
                    }
                }
            });
            cases.push(format!("op{op} {desc}"));
        }
    }
    // `gm` returns its matches joined into one string, so ours are encoded as one too.
    let Some(theirs) = run_lua("patterns", &script) else {
        return;
    };
    compare("patterns", &cases, &ours, &theirs);
}

// ---------------------------------------------------------------- format

fn random_float(r: &mut Rng) -> f64 {
    match r.below(8) {
        0 => f64::from_bits(r.next()),
        1 => *r.pick(&[
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            0.125,
            1e300,
            -1e-300,
            5e-324,
            f64::INFINITY,
            -f64::INFINITY,
            1e15,
            1e16,
            123456.789,
        ]),
        2 => (r.below(2000) as f64 - 1000.0) / 8.0,
        3 => (r.next() as i64 as f64) / 1e6,
        4 => r.below(100000) as f64,
        _ => (r.next() % 10_000_000) as f64 * 10f64.powi(r.below(40) as i32 - 20),
    }
}

fn random_int(r: &mut Rng) -> i64 {
    match r.below(5) {
        0 => r.next() as i64,
        1 => *r.pick(&[0, 1, -1, i64::MIN, i64::MAX, 255, 256, -256]),
        _ => r.below(2000) as i64 - 1000,
    }
}

#[test]
fn format_matches_lua() {
    let mut r = Rng(0x1234_5678_9ABC_DEF1);
    let mut script = String::from(PRELUDE);
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    let strs: &[&[u8]] = &[
        b"",
        b"abc",
        b"hello world",
        b"a\0b",
        b"\n\r\t\"\\\x01\x7f\xff9",
        b"1e3",
        b"12",
        b"x",
    ];
    for _ in 0..4000 {
        let mut fmt = Vec::new();
        let mut args: Vec<Arg> = Vec::new();
        let mut lua_args: Vec<String> = Vec::new();
        for _ in 0..1 + r.below(2) {
            if r.chance(20) {
                fmt.extend_from_slice(r.pick::<&[u8]>(&[b"x", b" ", b"%%", b"ab"]));
            }
            fmt.push(b'%');
            // Mostly valid specifications, so that most cases exercise the rendering.
            let conv = if r.chance(95) {
                *r.pick(b"ddiuxXoceEfgGaAsqeEfgGaA")
            } else {
                *r.pick(b"yFpq%")
            };
            let valid: &[u8] = match conv {
                b'd' | b'i' => b"-+0 ",
                b'u' => b"-0",
                b'o' | b'x' | b'X' => b"-#0",
                b'c' | b's' => b"-",
                b'q' => b"",
                _ => b"-+ #0",
            };
            for _ in 0..r.below(3) {
                if !valid.is_empty() && r.chance(95) {
                    fmt.push(*r.pick(valid));
                } else {
                    fmt.push(*r.pick(b"-+ #0"));
                }
            }
            if r.chance(50) && (conv != b'q' || r.chance(10)) {
                let w = if r.chance(3) {
                    100 + r.below(20)
                } else {
                    r.below(30)
                };
                fmt.extend_from_slice(w.to_string().as_bytes());
            }
            if r.chance(40) && (conv != b'c' || r.chance(10)) && (conv != b'q' || r.chance(10)) {
                fmt.push(b'.');
                let p = if r.chance(3) {
                    100 + r.below(9)
                } else {
                    r.below(25)
                };
                if r.chance(90) {
                    fmt.extend_from_slice(p.to_string().as_bytes());
                }
            }
            fmt.push(conv);
            let (a, l) = match (
                conv,
                r.below(if conv == b's' || conv == b'q' { 4 } else { 25 }),
            ) {
                // %p of a string or table prints an address, which cannot be compared.
                (b'p', _) => (Arg::Int(1), "1".into()),
                (b's' | b'q', 2 | 3) | (_, 0) => {
                    let s = *r.pick(strs);
                    (Arg::Str(s), lit(s))
                }
                (_, 1) => (Arg::Bool(true), "true".into()),
                (_, 2) if r.chance(30) => (Arg::Nil, "nil".into()),
                (b'd' | b'i' | b'u' | b'x' | b'X' | b'o' | b'c', _) if r.chance(85) => {
                    let i = if conv == b'c' {
                        r.below(300) as i64
                    } else {
                        random_int(&mut r)
                    };
                    (Arg::Int(i), int_lit(i))
                }
                (_, 3 | 4) => {
                    let i = random_int(&mut r);
                    (Arg::Int(i), int_lit(i))
                }
                _ => {
                    let f = random_float(&mut r);
                    (Arg::Float(f), float_lit(f))
                }
            };
            args.push(a);
            lua_args.push(l);
        }
        if r.chance(2) {
            args.pop();
            lua_args.pop();
        }
        let call = std::iter::once(lit(&fmt))
            .chain(lua_args.iter().cloned())
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(script, "print(res(pcall(string.format, {call})))");
        cases.push(format!(
            "format({:?}, {})",
            String::from_utf8_lossy(&fmt),
            lua_args.join(", ")
        ));
        ours.push(match format(&fmt, &args, &mut free) {
            Ok(out) => enc_str(&out),
            Err(e) => enc_err(&e.render("string.format").unwrap_or_default()),
        });
    }
    let Some(theirs) = run_lua("format", &script) else {
        return;
    };
    compare("format", &cases, &ours, &theirs);
}

// ---------------------------------------------------------------- pack

fn enc_values(vals: &[Value], next: i64) -> String {
    let mut v: Vec<String> = vals
        .iter()
        .map(|v| match v {
            Value::Int(i) => format!("i{i}"),
            Value::Float(f) => enc_float(*f),
            Value::Str(s) => enc_str(s),
        })
        .collect();
    v.push(format!("i{next}"));
    v.join(",")
}

fn render_err(e: EngineError<()>, name: &str) -> String {
    enc_err(&e.render(name).unwrap_or_default())
}

#[test]
fn pack_matches_lua() {
    let mut r = Rng(0xDEAD_BEEF_CAFE_F00D);
    let mut script = String::from(PRELUDE);
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    let strs: &[&[u8]] = &[b"", b"abc", b"a\0b", b"hello", b"12"];
    for _ in 0..1500 {
        let mut fmt = Vec::new();
        let mut args: Vec<Arg> = Vec::new();
        let mut lua_args: Vec<String> = Vec::new();
        for _ in 0..1 + r.below(5) {
            let opt = *r.pick(b"bBhHlLjJTfdniiIIsszcxX<>=!  ?");
            fmt.push(opt);
            if b"iIs!".contains(&opt) && r.chance(70) {
                let n = if r.chance(90) {
                    1 + r.below(16)
                } else {
                    r.below(20)
                };
                fmt.extend_from_slice(n.to_string().as_bytes());
            }
            if opt == b'c' && r.chance(95) {
                fmt.extend_from_slice(r.below(6).to_string().as_bytes());
            }
            if opt == b'X' {
                fmt.push(*r.pick(b"ihjdbc"));
                if r.chance(50) {
                    fmt.push(*r.pick(b"1248"));
                }
            }
            if b"<>=! X".contains(&opt) || opt == b'x' {
                continue;
            }
            let (a, l) = match (opt, r.below(12)) {
                (_, 0) => (Arg::Nil, "nil".into()),
                (b's' | b'z' | b'c', _) | (_, 1) => {
                    let s = *r.pick(strs);
                    (Arg::Str(s), lit(s))
                }
                (b'f' | b'd' | b'n', _) | (_, 2) => {
                    let f = random_float(&mut r);
                    (Arg::Float(f), float_lit(f))
                }
                _ => {
                    let i = match r.below(3) {
                        0 => random_int(&mut r),
                        1 => (r.below(1 << 17) as i64) - (1 << 16),
                        _ => r.below(300) as i64 - 150,
                    };
                    (Arg::Int(i), int_lit(i))
                }
            };
            args.push(a);
            lua_args.push(l);
        }
        let f = lit(&fmt);
        let call = std::iter::once(f.clone())
            .chain(lua_args.iter().cloned())
            .collect::<Vec<_>>()
            .join(", ");
        let desc = format!(
            "fmt={:?} args={}",
            String::from_utf8_lossy(&fmt),
            lua_args.join(", ")
        );
        // pack, then unpack what was packed, then packsize, then unpack random bytes.
        let _ = writeln!(script, "do local ok, p = pcall(string.pack, {call}); print(res(ok, p)); if ok then print(res(pcall(string.unpack, {f}, p))) else print('-') end end");
        let _ = writeln!(script, "print(res(pcall(string.packsize, {f})))");
        let data: Vec<u8> = (0..r.below(40))
            .map(|_| if r.chance(30) { 0 } else { r.next() as u8 })
            .collect();
        let init: i64 = if r.chance(80) {
            1
        } else {
            r.below(data.len() + 4) as i64 - 2
        };
        let _ = writeln!(
            script,
            "print(res(pcall(string.unpack, {f}, {}, {init})))",
            lit(&data)
        );
        match pack(&fmt, &args, &mut free) {
            Ok(p) => {
                ours.push(enc_str(&p));
                ours.push(match unpack(&fmt, &p, 1, &mut free) {
                    Ok((v, n)) => enc_values(&v, n),
                    Err(e) => render_err(e, "string.unpack"),
                });
            }
            Err(e) => {
                ours.push(render_err(e, "string.pack"));
                ours.push("-".into());
            }
        }
        ours.push(match packsize::<()>(&fmt) {
            Ok(n) => format!("i{n}"),
            Err(e) => render_err(e, "string.packsize"),
        });
        ours.push(match unpack(&fmt, &data, init, &mut free) {
            Ok((v, n)) => enc_values(&v, n),
            Err(e) => render_err(e, "string.unpack"),
        });
        for k in ["pack", "unpack packed", "packsize", "unpack random"] {
            cases.push(format!("{k}: {desc}"));
        }
    }
    let Some(theirs) = run_lua("pack", &script) else {
        return;
    };
    compare("pack", &cases, &ours, &theirs);
}

// ---------------------------------------------------------------- robustness

/// Random bytes from an alphabet heavy in each engine's special characters: no input may
/// panic. The budget aborts runaway patterns.
#[test]
fn no_panics_on_random_input() {
    let mut r = Rng(0x0123_4567_89AB_CDEF);
    let noise = |r: &mut Rng, alphabet: &[u8], n: usize| -> Vec<u8> {
        (0..r.below(n))
            .map(|_| {
                if r.chance(10) {
                    r.next() as u8
                } else {
                    *r.pick(alphabet)
                }
            })
            .collect()
    };
    for _ in 0..20_000 {
        let s = noise(&mut r, b"ab()[]%^$.-+*?0129 \0", 16);
        let p = noise(&mut r, b"ab()[]%^$.-+*?0129bfzadsw \0", 14);
        let mut steps = 0u64;
        let mut budget = |n: u64| {
            steps += n;
            if steps > 200_000 {
                Err(())
            } else {
                Ok(())
            }
        };
        let init = r.below(s.len() + 1);
        let _ = pattern::find(&s, &p, init, r.chance(50), &mut budget);
        let _ = GmatchState::new(s.len(), init).next(&s, &p, &mut budget);
        let repl = noise(&mut r, b"%0123ab", 6);
        let _ = pattern::gsub_str(&s, &p, &repl, r.below(5) as i64 - 1, &mut budget);

        let f = noise(&mut r, b"%-+ #0123456789.diuxXoceEfgGaAsqp", 12);
        let args = [
            Arg::Int(random_int(&mut r)),
            Arg::Float(random_float(&mut r)),
            Arg::Str(&s),
            Arg::Other {
                type_name: "table",
                tostring: None,
            },
        ];
        let k = r.below(5);
        let _ = format(&f, &args[..k.min(4)], &mut free);

        let pf = noise(&mut r, b"bBhHlLjJTfdnis1248zcxX<>=! 0", 10);
        let _ = pack(&pf, &args[..k.min(4)], &mut |n| {
            if n > 1 << 16 {
                Err(())
            } else {
                Ok(())
            }
        });
        let _ = packsize::<()>(&pf);
        let _ = unpack(&pf, &s, r.below(40) as i64 - 20, &mut free);
    }
}

#[test]
fn a_missing_lua_fails_loudly_unless_skipped_on_purpose() {
    let failed = std::panic::catch_unwind(|| lua_missing("probe", false));
    let payload = failed.expect_err("a missing lua5.4 must fail the test");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("lua5.4 package"), "{message}");
    assert!(message.contains("TESSERA_SKIP_LUA_DIFF=1"), "{message}");
    assert_eq!(lua_missing("probe", true), None);
}
