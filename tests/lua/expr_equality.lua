-- Expressions: equality of values of different types, identity of tables and functions.
print(1 == 1, 1 == 1.0, "1" == 1, nil == false, true == true)
local a, b = {}, {}
print(a == a, a == b, a ~= b)
local f = function() end
local g = f
print(f == g, f == function() end)
print("abc" == "abc", "abc" == "ab" .. "c", "a" ~= "A")
print(0.1 + 0.2 == 0.3, 0.5 + 0.25 == 0.75)
print(math.huge == math.huge, -math.huge == -math.huge)
print(nil == nil, false == false, false ~= nil)
local c = coroutine.create(function() end)
print(c == c, c == coroutine.create(function() end))
print(print == print, type == type, print == type)
print(rawequal(a, a), rawequal(a, b), rawequal(1, 1.0), rawequal("x", "x"))
print(rawequal(0, -0), rawequal(nil, nil), rawequal(0/0, 0/0))
print(pcall(rawequal, 1))
local mt = {__eq = function() return true end}
local x, y = setmetatable({}, mt), setmetatable({}, mt)
print(x == y, rawequal(x, y), x ~= y)
print(x == 1, 1 == x, x == "x")
local function mk() return function() return 1 end end
print(mk() == mk())
local s1 = string.rep("a", 50)
local s2 = string.rep("a", 49) .. "a"
print(s1 == s2)
print(2^53 == 2^53 + 1.0, math.maxinteger == math.maxinteger + 0.0)
print(-0.0 == 0, 1/0 == math.huge)
print(("x"):upper() == "X")
