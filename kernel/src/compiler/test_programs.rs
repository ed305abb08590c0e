// Sample programs for the luac listing comparison (included by tests.rs).
pub(crate) const STATIC_PROGRAMS: &[(&str, &str)] = &[
    ("edge", r#"local a <const> = 1
local function f() return a end
local t = {}
t["a string key longer than forty characters, surely"] = t.x
x = -9223372036854775808
y = math.mininteger // -1, 1 // 0, 1 % 0, 0x7fffffffffffffff + 1, 5 // 0.0, -(-9223372036854775807 - 1)
t[1.5] = 1; t[2^53] = 1; t[-0.0] = 2; t[0.0] = 3
local b = ...
z = b < 1.5, b == 1.0, b < 1000, b >= 1.0, b == -1, b ~= 127, b > -128, b <= 128.0
t.x = t.x or {}
local function g(...) return (...) end
local function h(...) return ..., 1 end
f{...}; f"str"; t:m"s"; t:m{1}; t:m(...)
local c, d = b and 1, b or 2
return b and f() or g()
"#),
    ("edge2", r#"local x, y = ...
local s = "x" .. 1 .. 2
local t = {[1] = 1, [2] = 2, 3}
local u = {1, nil, 3, nil}
while x do
  local z <close> = y
  if z then break end
end
for i = 1, 10 do
  local function cap() return i end
  if i > 5 then goto out end
end
::out::
local e1 <const> = 10
local e2 <const> = e1 * 2
local e3 = e2 // 3 + e1 % 3
local e4 <const> = "k"
t[e4] = e4 .. e4
repeat local q = x until q
if x then local w = 1 else local w = 2 end
return x ~= nil, not nil, not 1, #"abc"
"#),
    ("basics", "local a = {1,2,x=3}\nlocal t <const> = 5\nprint(a[1] + t, ...)\nfor i=1,10 do a[i]=i end\nfor k,v in pairs(a) do print(k,v) end\nreturn f(a)\n"),
    ("control", r#"local t = {}
t.x, t[1] = 1, 2
local s = "a" .. "b" .. t.x
if t.x > 1 and t.y then print(1) elseif t.x == 2 then print(2) else print(3) end
while t.x < 10 do t.x = t.x + 1 if t.x == 5 then break end end
local function f(a, b, ...) return a + b * 2 - 1, ... end
local o = {f = f}
function o:m(x) return self.x + x end
repeat local z = 1 until z > 0
goto done
::done::
local c <close> = nil
"#),
    ("logic", r#"local a, b = 1
local x = a and b or 3
local y = not a
local z = a == "s"
local w = -a
a, b = b, a
local t = {...}
local u = {f(), 1, 2}
local n = 1 + 2 * 3 // 1
local q = a // 0
local p = 2^53
local r = not (a and b)
local s = a ~= b
local v = (a or b) and (x or y)
if not a then y = 1 end
if a and not b or x then z = 2 end
"#),
    ("arith", r#"local a, b = ...
local r = {a + 1, a - 1, a * 2, a / 2, a % 3, a ^ 2, a // 4, 1 + a, 2 * a, 1 - a, 2 / a,
  a + 1.5, a - 2.5, a + 300, a - 300, a + b, a - b, a * b, a / b, a % b, a ^ b, a // b,
  a & 1, a | 2, a ~ 3, a << 1, a >> 2, 1 << a, 2 >> a, a & b, a | b, a ~ b, a << b, a >> b,
  1 & a, ~a, -a, #a, a .. b, a .. b .. a, 3 .. a}
local c = 1 + 2 - 3 * 4 / 5 % 6 ^ 7 // 8
local d = 7 // 0, 7 % 0, 1 / 0, -0.0, 0/0, 3 & 1.0, 1 << 70, ~5, - -3, 2^0.5
local e = "10" + 1, 1e300 * 1e10, 9007199254740993, 0x7fffffffffffffff + 1
local f = a + 1e15, a - (-3), a < 1, a <= 1.0, 1 < a, 2.0 >= a, a > 1000, a == 1, a ~= 2.5
"#),
    ("compare", r#"local a, b = ...
if a < b then print(1) end
if a <= b then print(2) end
if a > b then print(3) end
if a >= b then print(4) end
if a == b then print(5) end
if a ~= b then print(6) end
if a == nil then print(7) end
if a == true then print(8) end
if a == "x" then print(9) end
if 1 == a then print(10) end
if "x" == a then print(11) end
if a < 100 and b >= -5 or a > 3.0 then print(12) end
local x = a < b
local y = a == 1 or b
while a do a = a - 1 end
"#),
    ("tables", r#"local t = {}
local u = {1, 2, 3, a = 1, b = 2, [10] = 3, ["x y"] = 4, [1.5] = 5, f(), g()}
local v = {f()}
local w = {...}
local x = {1, 2, 3; 4, 5, 6}
t.a.b.c = 1
t[1][2] = t[3][4]
t["long key that is longer than forty characters......"] = 1
local y = t["long key that is longer than forty characters......"]
t[300] = 1
t[-1] = 2
t[1.0] = 3
t[true] = 4
x = #t
a.b = c.d
_ENV.z = 1
"#),
    ("bigtable", "local t = {\n1,2,3,4,5,6,7,8,9,10,1,2,3,4,5,6,7,8,9,10,1,2,3,4,5,6,7,8,9,10,1,2,3,4,5,6,7,8,9,10,1,2,3,4,5,6,7,8,9,10,\n1,2,3,4,5,6,7,8,9,10,1,2,3,4,5,6,7,8,9,10,1,2,3,4,5,6,7,8,9,10,1,2,3,4,5,6,7,8,9,10,1,2,3,4,5,6,7,8,9,10,\n1,2,3,4,5, x = 1, y = 2, z = 3, w = 4, f(), ...}\n"),
    ("calls", r#"print("hello")
print "hello"
print {1, 2}
local s = ("x"):rep(3)
obj:method(1, 2)
obj.field:method()
f(g(h()))
f(1, g())
f(...)
local a, b, c = f()
local d = f(), g()
return f(), g()
"#),
    ("returns", r#"local function a() return end
local function b() return 1 end
local function c(x) return x end
local function d(x, y) return x, y end
local function e(...) return ... end
local function f(x) return x.y end
local function g(x) return g(x) end
local function h(x) return (g(x)) end
local function i(x) return x, g(x) end
local function j() return 1, 2, 3; end
"#),
    ("upvalues", r#"local a = 1
local function f()
  local b = 2
  local function g()
    a = a + b
    return function() return a, b, c end
  end
  return g
end
local x <const> = 10
local y <const> = "str"
local function h() return x, y, a end
function gl() return a end
"#),
    ("numfor", r#"for i = 1, 10 do print(i) end
for i = 10, 1, -1 do print(i) end
for i = 1.0, 2.0, 0.5 do print(i) end
local n = 5
for i = n, n * 2 do local j = i * 2 print(j) end
for i = 1, 3 do for j = 1, 3 do if i == j then break end end end
"#),
    ("genfor", r#"for k, v in pairs(t) do print(k, v) end
for i, v in ipairs(t) do if v then break end end
for a, b, c, d, e in f() do print(a, b, c, d, e) end
for x in next, t, nil do local function f() return x end end
"#),
    ("whilerepeat", r#"local i = 0
while i < 10 do
  i = i + 1
  if i == 3 then goto continue end
  print(i)
  ::continue::
end
repeat
  local x = i
  i = i - 1
  local function f() return x end
until x < 5
repeat i = i + 1 until i > 100
while true do if i then break end end
"#),
    ("goto", r#"do
  goto a
  local x = 1
  ::a::
end
::top::
local y = 2
if y then goto top end
do
  local z = 3
  local function f() return z end
  goto out
end
::out::
for i = 1, 3 do
  for j = 1, 3 do
    if j == 2 then goto next end
  end
  ::next::
end
"#),
    ("assign", r#"local a, b, c = 1, 2
a, b = b, a
local t = {}
t[a], a = 1, 2
a, t[a] = 3, 4
t.x, t.y, t.z = f()
a, b, c = ...
a, b = 1, 2, 3
x, y = y, x
t[1], t[2] = t[2], t[1]
local u = t
u, u.x = 1, 2
"#),
    ("upvalassign", r#"local a = {}
local function f()
  a, a.x = 1, 2
  a.y, a = 3, 4
  x, _ENV = 1, 2
end
"#),
    ("strings", "local s = 'a\\tb\\n\\0\\255\\u{10FFFF}\\x41\\z\n   c'\nlocal l = [[\nline1\nline2]]\nlocal m = [==[\n]]]==]\nprint(s, l, m, \"quote\\\"s\", '\\\\')\n"),
    ("constfold", r#"local a <const> = 1
local b <const> = a + 2
local c <const> = "s"
local d <const> = b * 1.5
local e <const> = nil
local f <const> = true
local g <const> = {}
print(a, b, c, d, e, f, g, a .. c)
local h = -b, ~b, not f, #c
local i <const> = 2^63
local j = i + 1
local k <const> = math.pi
"#),
    ("close", r#"do
  local x <close> = f()
  print(x)
end
local function g()
  local y <close> = h()
  return y
end
local function h()
  local z <close> = f()
  return f()
end
local a <const>, b <close> = 1, 2
"#),
    ("methods", r#"local obj = {}
function obj.a.b.c:d(x, y) return self, x, y end
function obj.f(...) return select('#', ...) end
function obj:g() self:h() end
obj:g()
obj.a.b.c:d(1, 2)
local s = obj:h():i():j()
"#),
    ("varargs", r#"local a, b = ...
local t = {..., n = select('#', ...)}
print(...)
local function f(...) local x, y = ... return ... end
local function g(a, ...) return a, ... end
return ...
"#),
    ("nested", r#"local function outer()
  local x = 1
  local function mid()
    local y = 2
    local function inner()
      x = x + y
      return x
    end
    return inner
  end
  return mid
end
return outer
"#),
    ("concat", r#"local a, b, c = ...
local s = a .. b .. c .. "x" .. 1 .. 2.5
local t = (a .. b) .. (c .. a)
print(a .. b, s .. t)
"#),
    ("ifchains", r#"local x = ...
if x == 1 then print(1)
elseif x == 2 then print(2)
elseif x == 3 then
elseif x then print(4)
else print(5) end
if x then else print(6) end
if nil then print(7) end
if true then print(8) end
if x and true then print(9) end
if x or false then print(10) end
"#),
    ("localfunc", r#"local function fact(n) if n <= 1 then return 1 else return n * fact(n - 1) end end
local fib
fib = function(n) if n < 2 then return n end return fib(n-1) + fib(n-2) end
print(fact(5), fib(10))
"#),
    ("bignumbers", r#"local a = 65535
local b = 65536
local c = -65535
local d = -65536
local e = 1.0
local f = 65536.0
local g = 0.1
local h = 1e100
local i = 0x10p2
local j = math.huge
local k = a + 127, a + 128, a - 128, a - 129, a << 127, a >> 128, a == 127, a == 128
"#),
    ("notjumps", r#"local a, b = ...
local x = not a == b
local y = not (a == b)
local z = not not a
local w = a and not b
if not (a < b) then print(1) end
local v = a > 1 and b or nil
local u = (a == b) == (b == a)
"#),
    ("misc", r#";;;
local a <const> = 3
local t = {a = a, [a] = a}
do local b = 1; local c = b end
return t;
"#),
    ("envlocal", r#"local _ENV = {print = print}
print(x)
x = 1
local function f() y = 2 return z end
"#),
];

/// Programs generated for limits (constants beyond 255, many registers).
pub(crate) fn generated_programs() -> Vec<(&'static str, String)> {
    let mut consts = String::from("local t = {}\n");
    for i in 0..300 {
        consts.push_str(&format!("t.k{i} = {i}.5\n"));
    }
    consts.push_str("local x = t.k1 + 1000000\nlocal y = x + 0.25, x == 0.75, x & 1\n");
    let mut regs = String::from("local ");
    for i in 0..190 {
        if i > 0 {
            regs.push_str(", ");
        }
        regs.push_str(&format!("v{i}"));
    }
    regs.push_str(" = 1\nprint(v1, v2)\n");
    let items: Vec<String> = (0..600).map(|i| format!("{i}")).collect();
    let bigtable = format!("local t = {{{}, f()}}\nlocal u = {{{}, x = 1}}\n", items.join(", "), items.join(", "));
    vec![("manyconsts", consts), ("manyregs", regs), ("hugetable", bigtable)]
}
