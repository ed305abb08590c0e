//! Hostile input: random programs — built from Lua's tokens, and from mutations of the
//! conformance scripts — run under small budgets must end with a result, a Lua error or an
//! exhausted budget, never a panic or a hang. Seeded, so a failure reproduces; the seed and
//! the program are printed when one fails.
//!
//! Programs that end quickly in Lua (no loops but bounded ones, no recursion) must also end
//! within their fuel, whatever errors unwind through pending to-be-closed variables, close
//! handlers, protected calls and coroutines to the top of the main chunk: a run that spends
//! its whole budget on such a program is a hang the budget merely cut short.

use shell::runner::{Failure, Session};
use std::panic::{catch_unwind, AssertUnwindSafe};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const TOKENS: &[&str] = &[
    "local",
    "function",
    "end",
    "return",
    "if",
    "then",
    "else",
    "elseif",
    "while",
    "do",
    "for",
    "in",
    "repeat",
    "until",
    "break",
    "goto",
    "::l::",
    "nil",
    "true",
    "false",
    "...",
    "x",
    "y",
    "t",
    "f",
    "s",
    "co",
    "1",
    "0",
    "-1",
    "2^63",
    "0/0",
    "1e308",
    "math.mininteger",
    "'str'",
    "\"\\u{10FFFF}\"",
    "[[long]]",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "=",
    "==",
    "~=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "//",
    "%",
    "^",
    "..",
    "#",
    "&",
    "|",
    "~",
    "<<",
    ">>",
    "not",
    "and",
    "or",
    ",",
    ";",
    ".",
    ":",
    "<close>",
    "<const>",
    "setmetatable",
    "getmetatable",
    "pcall",
    "error",
    "coroutine.wrap",
    "coroutine.yield",
    "coroutine.resume",
    "coroutine.create",
    "select",
    "string.rep",
    "string.format",
    "('%d'):format",
    "table.concat",
    "table.sort",
    "tostring",
    "tonumber",
    "ipairs",
    "pairs",
    "next",
    "load",
    "collectgarbage",
    "rawset",
    "rawget",
    "__index",
    "__call",
    "__gc",
    "__close",
    "__eq",
    "__lt",
    "__concat",
    "__len",
    "__mode",
    "'k'",
    "'v'",
];

/// Program shapes that reach deep into the VM, with holes filled by random expressions.
const SHAPES: &[&str] = &[
    "local t = setmetatable({}, {__index = function(t, k) return E end, __newindex = function(t, k, v) rawset(t, k, E) end}) print(pcall(function() return t.a, t[1] end))",
    "local co = coroutine.wrap(function(...) local a = ... while true do a = coroutine.yield(E) end end) for i = 1, 5 do print(pcall(co, i)) end",
    "print(pcall(function() local x <close> = setmetatable({}, {__close = function() error(E) end}) return E end))",
    "local t = {} for i = 1, 50 do t[i] = E end print(pcall(table.sort, t, function(a, b) return E end))",
    "print(pcall(string.format, '%d %s %q', E, E, E))",
    "local f = load('return ' .. tostring(E)) print(pcall(f or print))",
    "print(select('#', pcall(function(...) return ... end, E, E, E)))",
    "local w = setmetatable({}, {__mode = 'k'}) for i = 1, 20 do w[{}] = E end collectgarbage() print(next(w) == nil)",
    "local a = setmetatable({}, {__add = function(a, b) return E end, __lt = function() return E end}) print(pcall(function() return a + 1, a < a, 1 + a end))",
    "print(pcall(function() for i = E, E, E do if i > 3 then break end end end))",
    "print(pcall(string.gsub, tostring(E), tostring(E), function(c) return E end))",
    "print(pcall(function() return #E, -E, ~E, E .. E, E // E, E % E end))",
    "local p = spawn('return ' .. tostring(E), {fuel = 5000, memory = '2M'}) print(pcall(p.wait, p)) print(pcall(p.usage, p)) p:kill() print(pcall(p.call, p, 'x'))",
    "local p = spawn('function f(...) return ... end function g(x) return x.y end', {name = tostring(E)}) p:wait() print(pcall(p.call, p, 'f', E, E)) print(pcall(p.call, p, 'g', E)) print(pcall(p.call, p, E))",
    "local p = spawn('function f(k) return caps, k end') p:wait() local q, rev = revocable(p) print(pcall(q.call, q, 'f', q)) rev() print(pcall(q.call, q, 'f', p)) print(pcall(rev))",
    "local ok, j = pcall(import, 'json', {fuel = 20000}) if ok then print(pcall(j.encode, E)) print(pcall(j.decode, tostring(E))) end",
    "print(pcall(spawn, E, E)) print(pcall(import, E)) print(pcall(revocable, E))",
    "local p = spawn('while true do end', {fuel = 1000}) print(pcall(p.wait, p)) p:refuel(E) print(pcall(p.resume, p)) print(p:status())",
];

const ATOMS: &[&str] = &[
    "nil",
    "true",
    "1",
    "-0.0",
    "0/0",
    "1/0",
    "math.maxinteger",
    "math.mininteger",
    "'x'",
    "'10'",
    "''",
    "{}",
    "{1, 2, 3}",
    "print",
    "coroutine.yield(1)",
    "error('e')",
    "error({})",
    "string.rep('ab', 1000)",
    "2^53",
    "'%d'",
    "'(%w+)'",
    "'[a-'",
    "select(-1, 1, 2)",
    "setmetatable({}, {__index = function() error('i') end})",
];

fn expr(r: &mut Rng, depth: usize) -> String {
    if depth == 0 || r.below(3) == 0 {
        return r.pick(ATOMS).to_string();
    }
    let a = expr(r, depth - 1);
    let b = expr(r, depth - 1);
    let op = r.pick(&[
        "+", "-", "*", "/", "//", "%", "^", "..", "==", "<", "and", "or", "&", "<<",
    ]);
    format!("({a} {op} {b})")
}

fn shaped(r: &mut Rng) -> String {
    let shape = r.pick(SHAPES);
    let mut out = String::new();
    for (i, part) in shape.split('E').enumerate() {
        if i > 0 {
            out.push_str(&expr(r, 3));
        }
        out.push_str(part);
    }
    out
}

fn token_soup(r: &mut Rng) -> String {
    let n = 5 + r.below(60);
    (0..n).map(|_| r.pick(TOKENS)).collect::<Vec<_>>().join(" ")
}

/// A conformance script with a few bytes or tokens changed.
fn mutated(r: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut s = corpus[r.below(corpus.len())].clone();
    for _ in 0..1 + r.below(4) {
        if s.is_empty() {
            break;
        }
        let at = r.below(s.len());
        match r.below(3) {
            0 => {
                let alphabet = b"(){}[]=.,;:+-*/%^#<>~\"'0123456789abcxyz \n";
                s[at] = alphabet[r.below(alphabet.len())];
            }
            1 => {
                s.remove(at);
            }
            _ => {
                let tok = r.pick(TOKENS).as_bytes().to_vec();
                s.splice(at..at, tok.into_iter().chain(std::iter::once(b' ')));
            }
        }
    }
    s
}

fn run(source: &[u8]) {
    let mut session = Session::new(Some(200_000), 8 << 20).expect("a small session fits");
    let mut out = Vec::new();
    let _ = session.run_chunk(source, "=fuzz", &[], &mut out);
}

#[test]
fn random_programs_never_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lua");
    let mut corpus: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "lua"))
                .filter_map(|p| std::fs::read(p).ok())
                .collect()
        })
        .unwrap_or_default();
    corpus.sort();
    let cases = 1500;
    for seed in 1..=cases as u64 {
        let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let program = match r.below(3) {
            0 => shaped(&mut r).into_bytes(),
            1 => token_soup(&mut r).into_bytes(),
            _ if !corpus.is_empty() => mutated(&mut r, &corpus),
            _ => shaped(&mut r).into_bytes(),
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| run(&program)));
        if outcome.is_err() {
            panic!(
                "seed {seed} panicked on:\n{}",
                String::from_utf8_lossy(&program)
            );
        }
    }
}

/// An error raised where the program stands: field access on nil, arithmetic on a table,
/// error values of every kind, a `__tostring` that fails when the error is reported.
const RAISES: &[&str] = &[
    "local x = nil; return x.y",
    "error('boom')",
    "error('boom', 0)",
    "error('boom', 2)",
    "error({})",
    "error()",
    "error(12)",
    "local z = 1 + {}",
    "error(setmetatable({}, {__tostring = function() return 'TS' end}))",
    "error(setmetatable({}, {__tostring = function() error('again') end}))",
    "error(setmetatable({}, {__tostring = function() return 1 end}))",
    "error(setmetatable({}, {__name = 'MyErr'}))",
    "local t <close> = 42",
];

/// A to-be-closed value whose handler prints, fails, fails with a table or yields.
fn closer(r: &mut Rng, k: usize) -> String {
    let handler = r.pick(&[
        "print('closed K', e)",
        "print('closed K', e) error('from close K')",
        "error({})",
        "error(setmetatable({}, {__tostring = function() return 'close TS' end}))",
        "coroutine.yield('K')",
        "",
    ]);
    format!(
        "setmetatable({{}}, {{__close = function(_, e) {} end}})",
        handler.replace('K', &k.to_string())
    )
}

/// Statements for function `k`: pending closes, calls to functions defined before it (numbered
/// above `k`, so nothing recurses), protected calls, coroutines, closing loops and raises.
fn unwind_stmts(r: &mut Rng, k: usize, funcs: usize, depth: usize) -> String {
    let mut b = String::new();
    for _ in 0..1 + r.below(4) {
        let callee = if k < funcs {
            Some(k + 1 + r.below(funcs - k))
        } else {
            None
        };
        let stmt = match (r.below(9), callee) {
            (0 | 1, _) => format!("local c{k}_{} <close> = {} ", b.len(), closer(r, k)),
            (2, Some(j)) => format!("f{j}() "),
            (3, Some(j)) => format!("print(pcall(f{j})) "),
            (4, Some(j)) => format!(
                "print(xpcall(f{j}, function(m) print('handler', m) return 'handled' end)) "
            ),
            (5, Some(j)) => format!(
                "local co = coroutine.create(f{j}) print(coroutine.resume(co)) print(coroutine.close(co)) "
            ),
            (6, Some(j)) => format!("coroutine.wrap(f{j})() "),
            (7, _) if depth > 0 => format!(
                "for i in function(s, c) if c < 2 then return c + 1 end end, nil, 0, {} do {}end ",
                closer(r, k),
                unwind_stmts(r, k, funcs, depth - 1)
            ),
            (8, _) if depth > 0 => format!("do {}end ", unwind_stmts(r, k, funcs, depth - 1)),
            _ => format!("{} ", r.pick(RAISES)),
        };
        b.push_str(&stmt);
    }
    b
}

/// A loop-free program whose errors unwind through pending `<close>` variables, often to the
/// top of the main chunk.
fn unwinding(r: &mut Rng) -> String {
    let funcs = r.below(4);
    let mut src = String::new();
    for k in (1..=funcs).rev() {
        src.push_str(&format!(
            "local function f{k}() {}end\n",
            unwind_stmts(r, k, funcs, 2)
        ));
    }
    src.push_str(&unwind_stmts(r, 0, funcs, 2));
    if r.below(10) < 7 {
        src.push_str(&format!("\n{}", r.pick(RAISES)));
    }
    src
}

#[test]
fn errors_unwinding_through_closes_end_within_their_fuel() {
    const FUEL: u64 = 2_000_000;
    let fixed = "local function f() local t <close> = setmetatable({}, {__close = function() print(\"closed\") end}) local x = nil; return x.y end f()";
    let mut programs = vec![fixed.to_string()];
    for seed in 1..=600u64 {
        let mut r = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
        programs.push(unwinding(&mut r));
    }
    for (i, program) in programs.iter().enumerate() {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut session = Session::new(Some(FUEL), 8 << 20).expect("a small session fits");
            let mut out = Vec::new();
            session.run_chunk(program.as_bytes(), "=unwind", &[], &mut out)
        }));
        match outcome {
            Err(_) => panic!("program {i} panicked:\n{program}"),
            Ok(Err(Failure::OutOfFuel { .. })) => {
                panic!("program {i} did not end within {FUEL} units of fuel:\n{program}")
            }
            Ok(_) => {}
        }
    }
}
