-- Long strings (more than 40 bytes) are objects of their own, as in Lua 5.4: equal by
-- content, told apart only by '%p'. Short strings are interned: equal ones are one object.
-- Which operations return the very string they were given, and which make a new one,
-- follows lua5.4.
local function same(a, b) return string.format("%p", a) == string.format("%p", b) end

local s1 = string.rep("a", 300)
local s2 = string.rep("a", 300)
print("equal", s1 == s2, rawequal(s1, s2), same(s1, s2), same(s1, s1))
print("short", same(string.rep("a", 10), string.rep("aa", 5)))
print("boundary", same(string.rep("b", 40), string.rep("b", 40)),
  same(string.rep("b", 41), string.rep("b", 41)))

-- one table key, kept as first stored
local t = {}
t[s1] = 1; t[s2] = 2
local n = 0
for k, v in pairs(t) do n = n + 1; print("key", v, same(k, s1), same(k, s2)) end
print("keys", n, t[string.rep("a", 300)])

-- the same object back
print("tostring", same(s1, tostring(s1)))
print("concat empty", same(s1, s1 .. ""), same(s1, "" .. s1), same(s1, "" .. s1 .. ""))
print("concat", same(s1, s1 .. "x"), same(s1, s1 .. 1))
print("gsub none", same(s1, (string.gsub(s1, "b", "c"))), same(s1, (string.gsub(s1, ".", {}))),
  same(s1, (string.gsub(s1, "a", function() end))))
print("gsub some", same(s1, (string.gsub(s1, "a", "%0"))),
  same(s1, (string.gsub(s1, "a", function(x) return x end))))
print("passing", same(s1, select(2, pcall(error, s1))), same(s1, table.unpack({s1})),
  same(s1, (coroutine.wrap(function() coroutine.yield(s1) end))()))
local mt = setmetatable({}, {__tostring = function() return s1 end})
print("__tostring", same(s1, tostring(mt)))

-- a new object
print("sub", same(s1, s1:sub(1)), same(s1, s1:sub(1, -1)), same(s1, s1:sub(2)))
print("rep", same(s1, string.rep(s1, 1)), same(s1, string.rep(s1, 1, "x")))
print("format", same(s1, string.format("%s", s1)))
print("concat table", same(s1, table.concat({s1})))
print("lower", same(s1, s1:lower()))
print("match", same(s1, (s1:match(".*"))))
print("error level", same(s1, select(2, pcall(error, s1, 2))))

-- constants: one object per chunk, a new one for each load
local function f() return "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" end
local function g() return "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" end
print("constants", same(f(), g()), same(f(), f()))
local src = "return 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy'"
local h1, h2 = load(src), load(src)
print("loads", same(h1(), h2()), same(h1(), h1()), h1() == h2())

-- '%p' text: as wide as a table's, padded like any other
print(#string.format("%p", s1) == #string.format("%p", {}), #string.format("%30p", s1))
