//! Compiler tests: listings compared with `luac5.4 -l -l`, error messages compared with
//! `lua5.4` and with fixed expectations, robustness on random input and deep nesting. Without
//! the lua5.4 package the comparisons fail, unless `TESSERA_SKIP_LUA_DIFF=1` says to skip them
//! on purpose.
// Tests talk to the reference interpreter and write scratch files: the rules against
// ambient authority in clippy.toml are for the library code, not for its tests.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

use super::*;
use std::path::PathBuf;
use std::process::Command;

/// The variable that skips the comparisons on purpose when the lua5.4 package is missing.
const SKIP_LUA_DIFF: &str = "TESSERA_SKIP_LUA_DIFF";

/// The reference program `name` (from the lua5.4 package) if it runs. A comparison must never
/// pass without comparing, so a missing one panics, unless `TESSERA_SKIP_LUA_DIFF=1` asks to
/// skip on purpose (then `None`).
fn reference(name: &str) -> Option<PathBuf> {
    let runs = Command::new(name)
        .arg("-v")
        .output()
        .is_ok_and(|out| out.status.success());
    if runs {
        return Some(PathBuf::from(name));
    }
    reference_missing(
        name,
        std::env::var_os(SKIP_LUA_DIFF).is_some_and(|v| v == "1"),
    )
}

/// What a comparison does when `name` does not run: `None` when `skip`, otherwise a panic
/// naming the package and the variable.
fn reference_missing(name: &str, skip: bool) -> Option<PathBuf> {
    if skip {
        eprintln!("{name} does not run and {SKIP_LUA_DIFF}=1: comparison skipped");
        return None;
    }
    panic!(
        "{name} does not run: this test compares the compiler with it and cannot pass without \
         it. Install the lua5.4 package (apt-get install lua5.4), or set {SKIP_LUA_DIFF}=1 to \
         skip it on purpose."
    )
}

#[test]
fn a_missing_reference_fails_loudly_unless_skipped_on_purpose() {
    let failed = std::panic::catch_unwind(|| reference_missing("luac5.4", false));
    let payload = failed.expect_err("a missing luac5.4 must fail the test");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("lua5.4 package"), "{message}");
    assert!(message.contains("TESSERA_SKIP_LUA_DIFF=1"), "{message}");
    assert_eq!(reference_missing("luac5.4", true), None);
}

/// Replaces `0x…` addresses by a fixed token, so listings from different processes compare.
fn normalize(s: &str) -> String {
    let mut out = String::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'0' && i + 1 < b.len() && b[i + 1] == b'x' {
            let mut j = i + 2;
            while j < b.len() && b[j].is_ascii_hexdigit() {
                j += 1;
            }
            out.push_str("ADDR");
            i = j;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn luac_listing(luac: &PathBuf, name: &str, src: &str) -> String {
    let dir = std::env::temp_dir().join(format!("tessera-compiler-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.lua"));
    std::fs::write(&path, src).unwrap();
    let out = Command::new(luac)
        .arg("-l")
        .arg("-l")
        .arg("-p")
        .arg(&path)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "luac failed on {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(&path);
    String::from_utf8_lossy(&out.stdout).replace(&format!("{}/", dir.display()), "")
}

pub(super) fn our_listing(name: &str, src: &str) -> String {
    let chunk = format!("@{name}.lua");
    match compile(src.as_bytes(), chunk.as_bytes()) {
        Ok(p) => disassemble(&p),
        Err(e) => format!("error: {e}"),
    }
}

fn compare_with_luac(programs: &[(&str, &str)]) {
    let Some(luac) = reference("luac5.4") else {
        return;
    };
    let mut failures = Vec::new();
    for (name, src) in programs {
        let want = normalize(&luac_listing(&luac, name, src));
        let got = normalize(&our_listing(name, src));
        if want != got {
            let mut diff = String::new();
            for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
                if w != g {
                    diff = format!(
                        "first difference at line {}:\n  luac: {w}\n  ours: {g}",
                        i + 1
                    );
                    break;
                }
            }
            if diff.is_empty() {
                diff = format!(
                    "lengths differ: {} vs {} lines",
                    want.lines().count(),
                    got.lines().count()
                );
            }
            failures.push(format!("--- {name}: {diff}\n{got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} listings differ:\n{}",
        failures.len(),
        programs.len(),
        failures.join("\n")
    );
}

include!("test_programs.rs");

#[test]
fn listings_match_luac() {
    let generated = generated_programs();
    let mut all: Vec<(&str, &str)> = STATIC_PROGRAMS.to_vec();
    all.extend(generated.iter().map(|(n, s)| (*n, s.as_str())));
    compare_with_luac(&all);
}

/// Sources that must fail (or, for a few, succeed) exactly as in Lua 5.4.
fn error_cases() -> Vec<String> {
    let mut v: Vec<String> = [
        "x = = 1",
        "x = 'abc",
        "x = \"abc\ny\"",
        "x = 3x",
        "x = 0x",
        "x = 1e",
        "x = 1e+",
        "x = 3.4.5",
        "local x = 1 +",
        "f(",
        "function f()\n\n x = 1\n",
        "local 1 = 2",
        "x = '\\q'",
        "x = '\\400'",
        "x = '\\u{110000000}'",
        "x = '\\u{'",
        "x = '\\u'",
        "x = '\\u{12'",
        "x = \"\\xg\"",
        "x = \"\\x5\"",
        "return return",
        "end",
        "::a:: ::a::",
        "::a:: do ::a:: end",
        "break",
        "if x then break end",
        "goto x",
        "do goto x end",
        "goto x; local y = 1; ::x:: print(y)",
        "do goto l end local x ::l:: print(x)",
        "goto continue; local a; ::continue::",
        "repeat goto cont; local x; ::cont:: until x",
        "local x <const> = 1; x = 2",
        "local x <close> = nil; x = 2",
        "local x <const> = {}; function f() x = 1 end",
        "local x <const> = 1; function f() x = 1 end",
        "local x <foo> = 1",
        "local a <close>, b <close> = 1, 2",
        "function f() return ... end",
        "for i do end",
        "for i = 1 do end",
        "for a, b = 1, 2 do end",
        "x = {1, 2",
        "x = (1",
        "x = (1\n\n",
        "f() = 1",
        "a.b:c = 1",
        "x = 1 .. 2 ..",
        "x = #",
        "x = }",
        "local t = {} t.x.y",
        "x",
        "x.y",
        "1 = 2",
        "\x01",
        "x = @",
        "x = 'a\\z\n\n b",
        "\n\n\n x = = 1",
        "a = 1\r\nb = = 2",
        "a = 1\n\rb = = 2",
        "a = 1\r\rb = = 2",
        "local function 1",
        "if x then else elseif",
        "repeat x = 1",
        "while x do",
        "x = function() end end",
        "x = [==[ abc",
        "--[[ abc",
        "x = [=",
        "local function f() local x <const> = 1 return function() x = 2 end end",
        "x = 'multi\\\nline' = 3",
        "f(1,,2)",
        "x = {a = }",
        "x = a.1",
        "x = a:b",
        "x = a:b.c()",
        "return 1,",
        "local x = 1 local y <close> = 2 goto l ::l::",
        "x = 1 -- comment\ny = = 2",
        "x = 'abc' 'def'",
        "x = 99999999999999999999999999 + 0x",
        "for i = 1, 2 do end end",
        "local a = {} a[1] = ",
        "do local x = 1 goto f end ::f::",
        "x = \"\\\"",
        "x = [[\n\n",
        "a.b.c.d.e.f:g(1)(2)[3] = 4",
        "local x = function(a, ...) local b = ... end",
        "local x = function(a, ..., b) end",
        "local x = function(1) end",
        "this is a very long source line that goes well beyond the limit of forty-five characters = 1",
        "first line\nsecond line",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let many_locals: String = (0..201).map(|i| format!("local v{i} = {i}\n")).collect();
    v.push(many_locals);
    let many_args = format!("f({}1)", "1, ".repeat(300));
    v.push(many_args);
    let outer: String = (0..200).map(|i| format!("local a{i} = {i}\n")).collect();
    let mid: String = (0..100).map(|i| format!("local b{i} = {i}\n")).collect();
    let names: Vec<String> = (0..200)
        .map(|i| format!("a{i}"))
        .chain((0..100).map(|i| format!("b{i}")))
        .collect();
    v.push(format!(
        "{outer}local function f()\n{mid}return function() return {} end end",
        names.join(", ")
    ));
    let deep_fn = format!("{}{}", "x = function() ".repeat(40), "end ".repeat(40));
    v.push(deep_fn);
    v
}

fn lua_load_message(lua: &PathBuf, src: &str) -> String {
    let out = Command::new(lua)
        .arg("-e")
        .arg("local f, e = load(os.getenv('TESSERA_SRC')) io.write(f and 'ok' or e)")
        .env("TESSERA_SRC", src)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn our_load_message(src: &str) -> String {
    match compile(src.as_bytes(), src.as_bytes()) {
        Ok(_) => "ok".to_string(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn error_messages_match_lua() {
    let Some(lua) = reference("lua5.4") else {
        return;
    };
    let mut failures = Vec::new();
    let cases = error_cases();
    for src in &cases {
        let want = lua_load_message(&lua, src);
        let got = our_load_message(src);
        if want != got {
            failures.push(format!("source {src:?}\n  lua:  {want}\n  ours: {got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} messages differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn fixed_error_messages() {
    let cases: &[(&str, &str)] = &[
        ("x = = 1", "t:1: unexpected symbol near '='"),
        ("x = 'abc", "t:1: unfinished string near <eof>"),
        ("x = 3x", "t:1: malformed number near '3x'"),
        (
            "function f()\n\n x = 1\n",
            "t:4: 'end' expected (to close 'function' at line 1) near <eof>",
        ),
        ("local 1 = 2", "t:1: <name> expected near '1'"),
        ("end", "t:1: <eof> expected near 'end'"),
        ("::a:: ::a::", "t:1: label 'a' already defined on line 1"),
        ("break", "t:1: break outside loop at line 1"),
        ("goto x", "t:1: no visible label 'x' for <goto> at line 1"),
        (
            "goto x; local y = 1; ::x:: print(y)",
            "t:1: <goto x> at line 1 jumps into the scope of local 'y'",
        ),
        (
            "local x <const> = 1; x = 2",
            "t:1: attempt to assign to const variable 'x'",
        ),
        ("local x <foo> = 1", "t:1: unknown attribute 'foo'"),
        (
            "local a <close>, b <close> = 1, 2",
            "t:1: multiple to-be-closed variables in local list",
        ),
        // A NUL byte as a token is C's token 0, which `lexerror` takes for "no token".
        ("x = \0", "t:1: unexpected symbol"),
        ("local \0", "t:1: <name> expected"),
        ("return 1 \0", "t:1: <eof> expected"),
        // Other control and non-ASCII bytes are shown by number.
        ("x = \x01", "t:1: unexpected symbol near '<\\1>'"),
        ("x = \x7f", "t:1: unexpected symbol near '<\\127>'"),
        ("x = \u{ff}", "t:1: unexpected symbol near '<\\195>'"),
    ];
    for (src, want) in cases {
        let got = compile(src.as_bytes(), b"=t").unwrap_err().to_string();
        assert_eq!(&got, want, "source {src:?}");
    }
}

#[test]
fn chunk_ids() {
    assert_eq!(chunk_id(b"=stdin"), "stdin");
    assert_eq!(chunk_id(b"@file.lua"), "file.lua");
    assert_eq!(chunk_id(b"x = 1"), "[string \"x = 1\"]");
    assert_eq!(chunk_id(b"x = 1\ny = 2"), "[string \"x = 1...\"]");
    let long = format!("@{}", "d/".repeat(40));
    let id = chunk_id(long.as_bytes());
    assert!(id.starts_with("...") && id.len() == 59, "{id}");
    assert_eq!(
        chunk_id(format!("={}", "n".repeat(100)).as_bytes()).len(),
        59
    );
    let src = "a".repeat(50);
    assert_eq!(
        chunk_id(src.as_bytes()),
        format!("[string \"{}...\"]", "a".repeat(45))
    );
}

/// Runs `f` on a thread with a 2 MB stack, as a small host thread would have.
fn on_small_stack<F: FnOnce() + Send + 'static>(f: F) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    on_small_stack(|| {
        let cases: Vec<Vec<u8>> = vec![
            "(".repeat(1_000_000).into_bytes(),
            format!("x = {}", "(".repeat(1_000_000)).into_bytes(),
            format!("x = {}", "{".repeat(100_000)).into_bytes(),
            format!("x = {}1", "- ".repeat(100_000)).into_bytes(),
            format!("x = {}1", "not ".repeat(100_000)).into_bytes(),
            "do ".repeat(100_000).into_bytes(),
            "if x then ".repeat(100_000).into_bytes(),
            "x = function() ".repeat(10_000).into_bytes(),
            format!("x = 1{}", " .. 1".repeat(100_000)).into_bytes(),
            format!("x = 2{}", " ^ 2".repeat(100_000)).into_bytes(),
            format!("a{} = 1", ", a".repeat(100_000)).into_bytes(),
            format!("x = f{}", "(f".repeat(100_000)).into_bytes(),
            format!("x = a{}", "[a".repeat(100_000)).into_bytes(),
            "::a:: ".repeat(100_000).into_bytes(),
        ];
        for src in cases {
            // Refused within a number of compiler steps linear in the source: a budget of
            // a few steps per byte is never what stops it (no timing: steps are counted).
            let limit = 8 * src.len() as u64;
            let e = match compile_within(&src, b"=t", limit) {
                Err(CompileError::Syntax(e)) => e,
                Err(CompileError::OverBudget { spent }) => {
                    panic!("{} bytes took more than {spent} compiler steps", src.len())
                }
                Ok(_) => panic!("compiled"),
            };
            let msg = e.to_string();
            assert!(
                msg.contains("C stack overflow") || msg.contains("too many"),
                "{msg}"
            );
        }
    });
}

#[test]
fn nesting_just_below_the_limit_compiles() {
    on_small_stack(|| {
        let src = format!("x = {}1{}", "(".repeat(150), ")".repeat(150));
        compile(src.as_bytes(), b"=t").unwrap();
        let src = format!("{}x = 1{}", "do ".repeat(150), " end".repeat(150));
        compile(src.as_bytes(), b"=t").unwrap();
        let src = format!(
            "{}return 1{}",
            "x = function() ".repeat(60),
            " end".repeat(60)
        );
        compile(src.as_bytes(), b"=t").unwrap();
    });
}

#[test]
fn long_chains_compile_without_recursion() {
    on_small_stack(|| {
        let cases = [
            format!("x = 1{}", " + 1".repeat(100_000)),
            format!("x = a{}", " + a".repeat(100_000)),
            format!("x = a{}", ".b".repeat(100_000)),
            format!("x = f{}", "()".repeat(100_000)),
            format!("x = a{}", "[1]".repeat(100_000)),
            format!("x = a{}", ":m()".repeat(100_000)),
            // Jump lists make and/or chains quadratic, in Lua too (luac needs seconds for
            // 100k terms), so these are shorter.
            format!("x = a{}", " and a".repeat(5_000)),
            format!("x = a{}", " or a".repeat(5_000)),
            format!("x = a{}", " == a".repeat(100_000)),
            "x = 1\n".repeat(100_000),
            format!("x = {{{}}}", "1, ".repeat(100_000)),
            format!("x = {{{}}}", "a = 1, ".repeat(100_000)),
        ];
        for src in cases {
            let p = compile(src.as_bytes(), b"=t").unwrap_or_else(|e| panic!("{e}"));
            assert!(!p.code.is_empty());
        }
    });
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_bytes_never_panic() {
    on_small_stack(|| {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..3000 {
            let len = rng.below(64);
            let src: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let _ = compile(&src, b"=fuzz");
        }
    });
}

#[test]
fn random_token_soup_never_panics() {
    const TOKENS: &[&str] = &[
        "local", "function", "end", "if", "then", "else", "elseif", "while", "do", "for", "in",
        "repeat", "until", "return", "break", "goto", "::", "x", "y", "t", "_ENV", "self", "=",
        "==", "~=", "<", "<=", ">", ">=", "+", "-", "*", "/", "//", "%", "^", "..", "...", "&",
        "|", "~", "<<", ">>", "#", "not", "and", "or", "(", ")", "{", "}", "[", "]", ".", ":", ",",
        ";", "1", "2.5", "0x10", "300", "-1", "'s'", "\"str\"", "[[long]]", "nil", "true", "false",
        "<const>", "<close>", "\n", "lbl", "f",
    ];
    on_small_stack(|| {
        let mut rng = Rng(12345);
        let mut compiled = 0;
        for _ in 0..5000 {
            let n = 1 + rng.below(40);
            let src: Vec<&str> = (0..n).map(|_| TOKENS[rng.below(TOKENS.len())]).collect();
            let src = src.join(" ");
            if let Ok(p) = compile(src.as_bytes(), b"=soup") {
                compiled += 1;
                let _ = disassemble(&p);
            }
        }
        assert!(compiled > 0);
    });
}

/// Token soups that compile are compared with luac, to catch code-generation differences on
/// unusual but valid programs.
#[test]
fn random_valid_programs_match_luac() {
    if reference("luac5.4").is_none() {
        return;
    }
    const STMTS: &[&str] = &[
        "local a = x",
        "local b, c = y, z",
        "x = a",
        "a, b = b, a",
        "t[a] = b",
        "t.x = t.y",
        "f(a, b)",
        "a = a + 1",
        "b = -a * 2 // 3 % 4",
        "if a then b = 1 end",
        "if a and b or c then f() else g() end",
        "while a < 10 do a = a + 1 end",
        "repeat a = a - 1 until a <= 0",
        "for i = 1, 3 do f(i) end",
        "for k, v in pairs(t) do f(k, v) end",
        "do local d <close> = f() end",
        "local e <const> = 3",
        "a = e + 1",
        "a = not a == b",
        "a = a .. b .. 'c'",
        "a = {1, 2, a = b, [c] = d, f()}",
        "local function g(...) return ... end",
        "a = function(p) return p or a end",
        "t:m(1)",
        "a = #t ~ 3 & 1 | a << 2 >> 1",
        "a = a > 1.5 and a ~= 'x'",
        "do goto skip; a = 1; ::skip:: end",
        "if a then return end",
        "a = (f())",
        "a = select('#', ...)",
        "t[1], t[2] = 3, 4",
        "local h = a if h then h = nil end",
        "a = 2^10 + 1e300 * 10 - 5 // 0.0",
    ];
    let mut rng = Rng(777);
    let mut programs = Vec::new();
    for i in 0..150 {
        let n = 1 + rng.below(16);
        let mut src = String::new();
        for _ in 0..n {
            src.push_str(STMTS[rng.below(STMTS.len())]);
            src.push('\n');
        }
        programs.push((format!("rand{i}"), src));
    }
    let refs: Vec<(&str, &str)> = programs
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_str()))
        .collect();
    compare_with_luac(&refs);
}

/// `SyntaxError::at_end` is what `lua.c`'s `incomplete` reads from the message (it ends with
/// `<eof>`): the REPL asks for more input by the flag, never by the text. Every prefix of a
/// few programs is checked.
#[test]
fn an_error_at_the_end_of_the_source_says_so() {
    let programs: [&[u8]; 4] = [
        b"local function f(a, b)\n  if a then return 'x' .. [[long\nstring]] else\n    return {b, c = 1}\n  end\nend\nprint(f(1))\n",
        b"for i = 1, 10 do local t = {i, 'a\\'b', --[==[ comment ]==] 3} end\nwhile x do x = x - 1 end\n",
        b"x = = 1\nreturn 1 \0",
        b"repeat local s = \"unfinished\nuntil true goto l ::l::",
    ];
    let mut seen = (0, 0);
    for src in programs {
        for cut in 0..=src.len() {
            let Err(e) = compile(&src[..cut], b"=t") else {
                continue;
            };
            assert_eq!(
                e.at_end,
                e.message.ends_with(b"<eof>"),
                "{}",
                String::from_utf8_lossy(&e.message)
            );
            if e.at_end {
                seen.0 += 1;
            } else {
                seen.1 += 1;
            }
        }
    }
    assert!(seen.0 > 50 && seen.1 > 5, "{seen:?}");
}

/// Shell mode: earlier lines' locals are upvalues after `_ENV`, the chunk's top-level locals
/// (not `<close>`, not those in blocks) are upvalues after them, and `<const>` stays read-only.
#[test]
fn session_locals_are_upvalues_of_the_main_function() {
    use super::{compile_session, SessionLocal};
    let earlier = [
        SessionLocal {
            name: b"a".to_vec(),
            readonly: false,
        },
        SessionLocal {
            name: b"k".to_vec(),
            readonly: true,
        },
    ];
    let p = compile_session(
        b"local b, c = a, 2 local function f() return b + k end do local inner = 1 end local t <close> = nil local k2 <const> = 3",
        b"=stdin",
        &earlier,
    )
    .expect("compiles");
    let names: Vec<&[u8]> = p.upvalues.iter().map(|u| &u.name[..]).collect();
    assert_eq!(names, [&b"_ENV"[..], b"a", b"k", b"b", b"c", b"f", b"k2"]);
    assert_eq!(p.upvalues[2].kind, 1);
    assert_eq!(p.upvalues[6].kind, 1);
    // The closure reaches `b` and `k` through the main function's upvalues.
    let f = &p.protos[0];
    assert!(f.upvalues.iter().all(|u| !u.in_stack));
    let e = compile_session(b"k = 1", b"=stdin", &earlier).expect_err("read-only");
    assert!(String::from_utf8_lossy(&e.message).contains("attempt to assign to const variable 'k'"));
}
