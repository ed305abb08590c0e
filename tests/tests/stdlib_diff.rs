//! Differential tests of the `string`, `table`, `math` and `utf8` libraries against the
//! reference interpreter, plus budget tests for the libraries' fuel and memory accounting.
//!
//! When `lua5.4` is on the PATH, each differential test generates a script of seeded random
//! cases (a tiny xorshift generator, so the cases are the same on every run), runs it through
//! Tessera and through `lua5.4`, and compares the printed output line by line. Every call is
//! made under `pcall`, so error messages are compared too. Case counts:
//!
//! - string: 1050 cases (find/match/gmatch/gsub with string, table and function replacements,
//!   byte/sub/rep/reverse/upper/lower/len/char, format, pack/packsize/unpack);
//! - table: 630 cases (insert/remove/concat/unpack/move/pack, sort with and without
//!   comparators, including inconsistent ones, and metamethod-backed tables);
//! - math: 440 cases (every function over edge values, and seeded `math.random` sequences);
//! - utf8: 444 cases (char/charpattern/codes/codepoint/len/offset over valid and invalid
//!   sequences, strict and lax).
//!
//! Without `lua5.4` the differential tests fail, unless `TESSERA_SKIP_LUA_DIFF=1` says to skip
//! them on purpose.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};

use tessera_tests::{lua_available, run_lua_source, Rng};

/// A Lua string literal for arbitrary bytes.
fn lit(b: &[u8]) -> String {
    let mut s = String::from("\"");
    for &c in b {
        if c.is_ascii_alphanumeric() || b" .,;:!#&*()[]{}<>=+-_/|^$%?@~'".contains(&c) {
            s.push(c as char);
        } else {
            let _ = write!(s, "\\{c:03}");
        }
    }
    s.push('"');
    s
}

const PRELUDE: &str = r##"
local function show(...)
  local n = select("#", ...)
  local out = {}
  for i = 1, n do
    local v = select(i, ...)
    local t = type(v)
    if t == "table" then
      local parts = {}
      for k = 1, #v do parts[#parts + 1] = tostring(v[k]) end
      out[#out + 1] = "{" .. table.concat(parts, ",") .. "}"
    elseif t == "function" then
      out[#out + 1] = "function"
    else
      out[#out + 1] = tostring(v)
    end
  end
  return table.concat(out, "\t")
end
local case = 0
local function T(f, ...)
  case = case + 1
  print(case, show(pcall(f, ...)))
end
"##;

fn run_reference(script: &str) -> Vec<u8> {
    let mut child = Command::new("lua5.4")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lua5.4 starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(script.as_bytes())
        .expect("the script is written");
    let out = child.wait_with_output().expect("lua5.4 runs");
    out.stdout
}

/// Runs `body` (after the prelude) through both interpreters and compares.
fn differential(name: &str, body: &str, expected_cases: usize) {
    // Panics without lua5.4, unless TESSERA_SKIP_LUA_DIFF=1 (then false).
    if !lua_available() {
        return;
    }
    let script = format!("{PRELUDE}\n{body}\nprint('cases', case)\n");
    let want = run_reference(&script);
    let got = run_lua_source(script.as_bytes(), "=stdin");
    if let Some(e) = &got.error {
        panic!("{name}: tessera raised an uncaught error: {e}");
    }
    let want_s = String::from_utf8_lossy(&want);
    let got_s = String::from_utf8_lossy(&got.stdout);
    let mut diffs = Vec::new();
    let wl: Vec<&str> = want_s.lines().collect();
    let gl: Vec<&str> = got_s.lines().collect();
    for i in 0..wl.len().max(gl.len()) {
        let (w, g) = (wl.get(i), gl.get(i));
        if w != g {
            diffs.push(format!("  want: {w:?}\n  got:  {g:?}"));
        }
    }
    assert!(
        wl.last()
            .is_some_and(|l| l.starts_with("cases") && l.contains(&expected_cases.to_string())),
        "{name}: the reference did not run all cases: {:?}",
        wl.last()
    );
    if !diffs.is_empty() {
        if let Some(dir) = std::env::var_os("STDLIB_DIFF_DUMP") {
            let _ = std::fs::write(
                std::path::Path::new(&dir).join(format!("{name}.lua")),
                &script,
            );
        }
        let n = diffs.len();
        diffs.truncate(15);
        panic!(
            "{name}: {n} differing lines out of {}:\n{}",
            wl.len(),
            diffs.join("\n")
        );
    }
}

// ----- string -------------------------------------------------------------------------------

fn subject(r: &mut Rng) -> Vec<u8> {
    const ALPHA: &[u8] = b"aabbc  xyz019.%()[]-\x00\xff,";
    let n = r.below(14);
    (0..n).map(|_| r.pick(ALPHA)).collect()
}

fn pattern(r: &mut Rng) -> Vec<u8> {
    const TOKENS: &[&str] = &[
        "a", "b", ".", "%a", "%d", "%s", "%w", "%p", "[abc]", "[^a]", "[%d.]", "[a-c]", "*", "+",
        "-", "?", "(", ")", "()", "^", "$", "%b()", "%f[%a]", "%1", "%", "[", "x", " ", "%x", "%u",
        "%l", "%c", "%z", "%S",
    ];
    let n = 1 + r.below(5);
    let mut p = Vec::new();
    for _ in 0..n {
        p.extend_from_slice(r.pick(TOKENS).as_bytes());
    }
    p
}

#[test]
fn string_library_matches_lua() {
    let mut r = Rng(0x5eed_0001);
    let mut b = String::new();
    b.push_str(
        "local rt = {a = 'A', b = false, c = 1.5, x = {}}\n\
         local function rf(...) local n = select('#', ...) if n > 1 then return (...) .. n end \
         local c = ... if c == 'a' then return nil end if c == 'b' then return 42 end return c end\n\
         local function gm(s, p, i) local o = {} for a, b in string.gmatch(s, p, i) do \
         o[#o + 1] = tostring(a) .. '/' .. tostring(b) if #o > 20 then break end end return o end\n",
    );
    let mut cases = 0;
    for _ in 0..100 {
        let s = lit(&subject(&mut r));
        let p = lit(&pattern(&mut r));
        let i = r.int(-8, 12);
        let _ = writeln!(b, "T(string.find, {s}, {p}, {i})");
        let _ = writeln!(b, "T(string.find, {s}, {p}, {i}, true)");
        let _ = writeln!(b, "T(string.match, {s}, {p}, {i})");
        let _ = writeln!(b, "T(gm, {s}, {p}, {i})");
        let repl = match r.below(4) {
            0 => lit(r.pick(&[b"<%0>" as &[u8], b"%1-%1", b"%%", b"x", b"%2", b"%"])),
            1 => "rt".to_string(),
            2 => "rf".to_string(),
            _ => r.int(-3, 3).to_string(),
        };
        let max = if r.chance(30) {
            format!(", {}", r.int(-1, 3))
        } else {
            String::new()
        };
        let _ = writeln!(b, "T(string.gsub, {s}, {p}, {repl}{max})");
        cases += 5;
    }
    for _ in 0..20 {
        let s = lit(&subject(&mut r));
        let (i, j) = (r.int(-20, 20), r.int(-20, 20));
        let _ = writeln!(b, "T(string.sub, {s}, {i}, {j})");
        let _ = writeln!(b, "T(string.sub, {s}, {i})");
        let _ = writeln!(b, "T(string.byte, {s}, {i}, {j})");
        let _ = writeln!(b, "T(string.byte, {s}, {i})");
        let n = r.int(-2, 4);
        let _ = writeln!(b, "T(string.rep, {s}, {n}, {})", lit(b", "));
        let _ = writeln!(b, "T(string.rep, {s}, {n})");
        let _ = writeln!(b, "T(string.reverse, {s})");
        let _ = writeln!(b, "T(string.upper, {s})");
        let _ = writeln!(b, "T(string.lower, {s})");
        let _ = writeln!(b, "T(string.len, {s})");
        let (c1, c2) = (r.int(-2, 300), r.int(0, 255));
        let _ = writeln!(b, "T(string.char, {c1}, {c2})");
        cases += 11;
    }
    const SPECS: &[&str] = &[
        "%d", "%5d", "%-5d|", "%05d", "%+d", "%x", "%X", "%#x", "%o", "%c", "%i", "%u", "%f",
        "%.3f", "%10.2f", "%e", "%.0e", "%g", "%.3g", "%G", "%a", "%s", "%10s", "%-10s|", "%.2s",
        "%q", "%%", "%5.1s", "%i%%", "%y", "%10.3q", "%#o", "% d",
    ];
    const ARGS: &[&str] = &[
        "0",
        "1",
        "-1",
        "255",
        "3.5",
        "-0.0",
        "1e300",
        "1/0",
        "-1/0",
        "0/0",
        "math.maxinteger",
        "math.mininteger",
        "'abc'",
        "'10'",
        "'a\\0b'",
        "nil",
        "true",
        "{}",
        "2^53",
        "'x y'",
        "0.1",
        "123456789",
    ];
    for _ in 0..110 {
        let k = 1 + r.below(2);
        let mut fmt = String::new();
        let mut args = Vec::new();
        for _ in 0..k {
            fmt.push_str(r.pick(SPECS));
            fmt.push(' ');
            args.push(r.pick(ARGS));
        }
        let _ = writeln!(
            b,
            "T(string.format, {}, {})",
            lit(fmt.as_bytes()),
            args.join(", ")
        );
        cases += 1;
    }
    const PACKS: &[(&str, &str)] = &[
        ("i4", "100"),
        ("<i2", "-3"),
        (">I3", "70000"),
        ("b", "200"),
        ("B", "-1"),
        ("h", "1.5"),
        ("j", "math.mininteger"),
        ("d", "0.5"),
        ("f", "1/3"),
        ("n", "-2.25"),
        ("s1", "'hello'"),
        ("z", "'abc'"),
        ("c5", "'ab'"),
        ("!4 i1 i4", "1, 2"),
        ("i17", "1"),
        ("s", "{}"),
        ("x i2 Xi4", "7"),
        ("<!8 b d", "1, 2"),
        ("c", "'a'"),
        ("I0", "1"),
    ];
    for _ in 0..70 {
        let (f, a) = r.pick(PACKS);
        let _ = writeln!(b, "T(string.pack, {}, {a})", lit(f.as_bytes()));
        let _ = writeln!(b, "T(string.packsize, {})", lit(f.as_bytes()));
        let _ = writeln!(
            b,
            "T(function() return string.unpack({f}, string.pack({f}, {a})) end)",
            f = lit(f.as_bytes())
        );
        cases += 3;
    }
    // A few fixed cases for error paths and the metatable.
    b.push_str(
        "T(string.rep)\nT(string.gsub, 'x', 'x')\nT(string.format, '%d', 1.5)\n\
         T(function() return ('x'):rep(3, ',') end)\nT(string.find, 'abc', 'b', nil, nil)\n\
         T(string.format, '%s', setmetatable({}, {__tostring = function() return 'TS' end}))\n\
         T(string.format, '%s %s', 1, setmetatable({}, {__tostring = function() return {} end}))\n\
         T(string.gsub, 'abc', '%w', setmetatable({}, {__index = function(_, k) return k:upper() end}))\n\
         T(string.unpack, 'i4', 'abc')\nT(string.char)\n",
    );
    cases += 10;
    assert_eq!(cases, 1050);
    differential("string", &b, cases);
}

// ----- table --------------------------------------------------------------------------------

fn array(r: &mut Rng, n: usize) -> String {
    let items: Vec<String> = (0..n).map(|_| r.int(-9, 9).to_string()).collect();
    format!("{{{}}}", items.join(", "))
}

#[test]
fn table_library_matches_lua() {
    let mut r = Rng(0x5eed_0002);
    let mut b = String::new();
    b.push_str(
        "local function ins(t, ...) table.insert(t, ...) return t end\n\
         local function rem(t, ...) local v = table.remove(t, ...) return v, t end\n\
         local function srt(t, f) local ok, e = pcall(table.sort, t, f) return ok, e, t end\n\
         local function mv(a, f, e, t, b) return table.move(a, f, e, t, b) end\n\
         local function meta(t) return setmetatable({}, {__index = function(_, k) return t[k] end, \
         __newindex = function(_, k, v) t[k] = v end, __len = function() return #t end}) end\n\
         local function back(p, n) local o = {} for i = 1, n do o[i] = p[i] end return o end\n",
    );
    let mut cases = 0;
    for _ in 0..50 {
        let n = r.below(7);
        let a = array(&mut r, n);
        let pos = r.int(-1, n as i64 + 2);
        let _ = writeln!(b, "T(ins, {a}, {pos}, 'v')");
        let _ = writeln!(b, "T(ins, {a}, 'w')");
        let _ = writeln!(b, "T(rem, {a}, {pos})");
        let _ = writeln!(b, "T(rem, {a})");
        let (i, j) = (r.int(-1, n as i64 + 1), r.int(-1, n as i64 + 1));
        let _ = writeln!(b, "T(table.concat, {a}, '-', {i}, {j})");
        let _ = writeln!(b, "T(table.unpack, {a}, {i}, {j})");
        let (f, e, t) = (r.int(-1, 5), r.int(-1, 6), r.int(-1, 6));
        let _ = writeln!(b, "T(mv, {a}, {f}, {e}, {t})");
        let _ = writeln!(b, "T(mv, {a}, {f}, {e}, {t}, {{}})");
        cases += 8;
    }
    for _ in 0..60 {
        let n = r.below(40);
        let a = array(&mut r, n);
        let cmp = r.pick(&[
            "nil",
            "function(x, y) return x > y end",
            "function(x, y) return x <= y end",
            "function(x, y) return true end",
            "function(x, y) return (x % 3) < (y % 3) end",
        ]);
        let _ = writeln!(b, "T(srt, {a}, {cmp})");
        cases += 1;
    }
    for _ in 0..30 {
        let n = r.below(30);
        let items: Vec<String> = (0..n)
            .map(|_| match r.below(3) {
                0 => format!("{}.5", r.int(-5, 5)),
                1 => r.int(-5, 5).to_string(),
                _ => "0/0".to_string(),
            })
            .collect();
        let _ = writeln!(b, "T(srt, {{{}}})", items.join(", "));
        cases += 1;
    }
    for _ in 0..20 {
        let n = r.below(12);
        let a = array(&mut r, n);
        let _ = writeln!(
            b,
            "T(function() local p = meta({a}) table.sort(p) return back(p, {n}) end)"
        );
        let _ = writeln!(
            b,
            "T(function() local p = meta({a}) table.insert(p, 1, 0) return back(p, {}) end)",
            n + 1
        );
        let _ = writeln!(
            b,
            "T(function() local p = meta({a}) return table.concat(p, ','), table.unpack(p) end)"
        );
        let _ = writeln!(
            b,
            "T(function() local p = meta({a}) return table.remove(p, 1), back(p, {n}) end)"
        );
        let _ = writeln!(
            b,
            "T(function() local p = meta({a}) return back(table.move(p, 1, {n}, 2), {}) end)",
            n + 1
        );
        cases += 5;
    }
    for _ in 0..10 {
        let words: Vec<String> = (0..r.below(20))
            .map(|_| lit(format!("w{}", r.int(0, 30)).as_bytes()))
            .collect();
        let _ = writeln!(b, "T(srt, {{{}}})", words.join(", "));
        let _ = writeln!(b, "T(table.pack, {})", words.join(", "));
        cases += 2;
    }
    b.push_str(
        "T(table.insert, {1}, 1, 2, 3)\nT(table.insert, {1}, 5, 2)\nT(table.insert)\n\
         T(table.concat, {1, {}, 3})\nT(table.concat, {}, 'x', 1, 0)\nT(table.sort, {3, 'a', 1})\n\
         T(table.sort, {1, 2}, 3)\nT(table.unpack, {}, 1, 1e8)\nT(table.move, {}, 1, math.maxinteger, 2)\n\
         T(table.remove, {}, 5)\nT(table.pack)\nT(table.unpack, {1, 2, nil, 4}, 1, 4)\n\
         T(function() return select('#', table.unpack({}, 1, 3)) end)\n\
         T(table.concat, setmetatable({}, {__len = function() return 2.5 end}))\n\
         T(table.sort, setmetatable({}, {__len = function() return 'x' end}))\n\
         T(function() local t = {5, 1, 4} table.sort(t, function(a, b) error('cmp') end) end)\n\
         T(function() local t = {{k=2}, {k=1}} table.sort(t, function(a, b) return a.k < b.k end) return t[1].k end)\n\
         T(function() local t = {} for i = 1, 300 do t[i] = (i * 37) % 101 end table.sort(t) return table.concat(t, ' ', 1, 20) end)\n\
         T(function() local t = {} for i = 1, 300 do t[i] = (i * 37) % 101 end table.sort(t, function(a, b) return a > b end) return table.concat(t, ' ', 1, 20) end)\n\
         T(table.remove, {1, 2, 3}, 4)\n",
    );
    cases += 20;
    assert_eq!(cases, 630);
    differential("table", &b, cases);
}

// ----- math -----------------------------------------------------------------------------------

#[test]
fn math_library_matches_lua() {
    let mut r = Rng(0x5eed_0003);
    let mut b = String::new();
    const VALUES: &[&str] = &[
        "0",
        "-0.0",
        "1",
        "-1",
        "2.5",
        "-2.5",
        "3.7",
        "-3.7",
        "1e300",
        "-1e300",
        "1/0",
        "-1/0",
        "0/0",
        "math.maxinteger",
        "math.mininteger",
        "2^53",
        "2^63",
        "-2^63",
        "'10'",
        "'3.5'",
        "'x'",
        "nil",
        "{}",
        "0.5",
        "7",
        "-7",
        "100",
        "1e-300",
    ];
    const F1: &[&str] = &[
        "abs",
        "ceil",
        "floor",
        "sqrt",
        "sin",
        "cos",
        "tan",
        "asin",
        "acos",
        "exp",
        "log",
        "deg",
        "rad",
        "tointeger",
        "type",
        "modf",
    ];
    const NUMBERS: &[&str] = &[
        "0", "-0.0", "1", "-1", "2.5", "1/0", "-1/0", "0/0", "7", "-7",
    ];
    // (`atan` gets no bad arguments: lua5.4 may name it `math.atan2` in its messages.)
    const F2: &[&str] = &["fmod", "log", "max", "min", "ult"];
    let mut cases = 0;
    for _ in 0..200 {
        let f = r.pick(F1);
        let v = r.pick(VALUES);
        let _ = writeln!(b, "T(math.{f}, {v})");
        cases += 1;
    }
    for _ in 0..150 {
        let f = r.pick(F2);
        let (x, y) = (r.pick(VALUES), r.pick(VALUES));
        let _ = writeln!(b, "T(math.{f}, {x}, {y})");
        cases += 1;
    }
    for _ in 0..20 {
        let (x, y) = (r.pick(NUMBERS), r.pick(NUMBERS));
        let _ = writeln!(b, "T(math.atan, {x}, {y})");
        let _ = writeln!(b, "T(math.atan, {x})");
        cases += 2;
    }
    for _ in 0..40 {
        let seed = r.int(-1000, 1000);
        let (lo, hi) = (r.int(-50, 50), r.int(-50, 200));
        let _ = writeln!(
            b,
            "T(function() math.randomseed({seed}) return math.random({lo}, {hi}), math.random(), \
             math.random(0), math.random({}), math.random(math.mininteger, math.maxinteger) end)",
            r.int(1, 1000)
        );
        cases += 1;
    }
    b.push_str(
        "T(math.random, 2, 1)\nT(math.random, 1, 2, 3)\nT(math.random, 1.5)\nT(math.max)\n\
         T(math.min, 3, 1, 2)\nT(math.max, 'a', 'b')\nT(math.max, 1, 2.0, 2)\n\
         T(function() return math.pi, math.huge, -math.huge, math.maxinteger, math.mininteger end)\n\
         T(math.fmod, 1, 0)\nT(math.fmod, math.mininteger, -1)\n",
    );
    cases += 10;
    assert_eq!(cases, 440);
    differential("math", &b, cases);
}

// ----- utf8 -----------------------------------------------------------------------------------

fn utf8_subject(r: &mut Rng) -> Vec<u8> {
    const PIECES: &[&[u8]] = &[
        b"a",
        b"Z",
        "é".as_bytes(),
        "中".as_bytes(),
        "😀".as_bytes(),
        b"\x80",
        b"\xc3",
        b"\xff",
        b"\xed\xa0\x80",
        b"\xf4\x90\x80\x80",
        b"\xc0\x80",
        b"\xf8\x88\x80\x80\x80",
        b"\x00",
    ];
    let n = r.below(6);
    let mut s = Vec::new();
    for _ in 0..n {
        s.extend_from_slice(r.pick(PIECES));
    }
    s
}

#[test]
fn utf8_library_matches_lua() {
    let mut r = Rng(0x5eed_0004);
    let mut b = String::new();
    b.push_str(
        "local function cs(s, lax) local o = {} for p, c in utf8.codes(s, lax) do \
         o[#o + 1] = p .. ':' .. c end return o end\n",
    );
    let mut cases = 0;
    for _ in 0..60 {
        let s = lit(&utf8_subject(&mut r));
        let (i, j) = (r.int(-6, 10), r.int(-6, 10));
        let lax = if r.chance(50) { "true" } else { "nil" };
        let _ = writeln!(b, "T(utf8.len, {s}, {i}, {j}, {lax})");
        let _ = writeln!(b, "T(utf8.len, {s})");
        let _ = writeln!(b, "T(utf8.codepoint, {s}, {i}, {j}, {lax})");
        let _ = writeln!(b, "T(utf8.codepoint, {s}, {i})");
        let _ = writeln!(b, "T(utf8.offset, {s}, {}, {i})", r.int(-4, 4));
        let _ = writeln!(b, "T(utf8.offset, {s}, {})", r.int(-4, 4));
        let _ = writeln!(b, "T(cs, {s}, {lax})");
        cases += 7;
    }
    for _ in 0..16 {
        let codes: Vec<String> = (0..1 + r.below(3))
            .map(|_| {
                r.pick(&[
                    "0",
                    "65",
                    "127",
                    "128",
                    "2047",
                    "2048",
                    "65535",
                    "65536",
                    "0x10FFFF",
                    "0x110000",
                    "0x7FFFFFFF",
                    "0x80000000",
                    "-1",
                    "233",
                    "0xD800",
                    "'66'",
                ])
                .to_string()
            })
            .collect();
        let _ = writeln!(
            b,
            "T(function() local s = utf8.char({}) return s, #s, utf8.len(s, 1, -1, true) end)",
            codes.join(", ")
        );
        cases += 1;
    }
    b.push_str(
        "T(function() return utf8.charpattern end)\nT(utf8.char)\nT(utf8.len)\nT(utf8.offset, 'abc')\n\
         T(function() local n = 0 for c in ('héllo wörld'):gmatch(utf8.charpattern) do n = n + 1 end return n end)\n\
         T(utf8.codes)\nT(utf8.codepoint, 'abc', 0)\nT(utf8.codepoint, 'abc', 1, 4)\n",
    );
    cases += 8;
    assert_eq!(cases, 444);
    differential("utf8", &b, cases);
}

// ----- budgets ----------------------------------------------------------------------------------

use shell::runner::{Failure, Session};

fn run_budgeted(fuel: Option<u64>, memory: usize, src: &str) -> Result<Vec<u8>, Failure> {
    let mut session = Session::new(fuel, memory).expect("the session starts");
    let mut out = Vec::new();
    session
        .run_chunk(src.as_bytes(), "=budget", &[], &mut out)
        .map(|_| out)
}

fn is_out_of_memory(r: &Result<Vec<u8>, Failure>) -> bool {
    matches!(r, Err(Failure::OutOfMemory { .. }))
}

#[test]
fn huge_rep_fails_with_not_enough_memory() {
    for src in [
        "return ('x'):rep(1e9)",
        "return ('abc'):rep(1e8, ', ')",
        "return string.format('%s%s', ('x'):rep(2^25), ('x'):rep(2^25))",
    ] {
        let r = run_budgeted(None, 64 << 20, src);
        assert!(is_out_of_memory(&r), "{src}: {r:?}");
    }
    // Past lstrlib's MAXSIZE (INT_MAX), the reference's own error, before any allocation,
    // and caught by pcall as Lua catches it; below it, the memory budget, which no pcall sees.
    let r = run_budgeted(
        None,
        64 << 20,
        "print(pcall(string.rep, 'x', 2^40)) \
         print(pcall(string.rep, 'ab', 2^30)) print(#('y'):rep(1000))",
    );
    assert_eq!(
        r.expect("the script ends"),
        b"false\tresulting string too large\n\
          false\tresulting string too large\n1000\n"
            .to_vec()
    );
    let r = run_budgeted(None, 64 << 20, "print(pcall(string.rep, 'x', 1e9))");
    assert!(is_out_of_memory(&r), "{r:?}");
}

#[test]
fn pathological_pattern_runs_out_of_fuel() {
    let r = run_budgeted(
        Some(2_000_000),
        64 << 20,
        "return string.find(('a'):rep(30), ('a*'):rep(30) .. 'b')",
    );
    assert!(matches!(r, Err(Failure::OutOfFuel { .. })), "{r:?}");
}

#[test]
fn sort_with_lua_comparator_runs_out_of_fuel() {
    let r = run_budgeted(
        Some(3_000_000),
        256 << 20,
        "local t = {} for i = 1, 100000 do t[i] = (i * 7919) % 100003 end \
         table.sort(t, function(a, b) return a < b end) print('sorted')",
    );
    assert!(matches!(r, Err(Failure::OutOfFuel { .. })), "{r:?}");
}

#[test]
fn large_sorts_complete_across_slices() {
    let r = run_budgeted(
        None,
        256 << 20,
        "local t = {} for i = 1, 20000 do t[i] = (i * 7919) % 20011 end \
         table.sort(t, function(a, b) return a > b end) \
         local u = {} for i = 1, 200000 do u[i] = (i * 7919) % 200003 end table.sort(u) \
         print(t[1], t[20000], u[1], u[200000])",
    )
    .expect("the sorts finish");
    assert_eq!(r, b"20010\t1\t1\t200002\n".to_vec());
}
