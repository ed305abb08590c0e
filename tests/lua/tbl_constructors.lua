-- Tables: constructors with positional, [k]=v and name=v fields, separators, nesting.
local t = {1, 2, 3; 4, 5,}
print(#t, t[1], t[5])
local u = {x = 1, y = 2, ["z"] = 3, [10] = "ten", [1 + 1] = "two"}
print(u.x, u.y, u.z, u[10], u[2])
local m = {"a", [1] = "overridden?", "b"}
print(m[1], m[2])
local m2 = {[1] = "explicit", "positional"}
print(m2[1])
local nested = {a = {b = {c = "deep"}}, {1, {2, {3}}}}
print(nested.a.b.c, nested[1][2][2][1])
local function three() return 1, 2, 3 end
local e1 = {three()}
local e2 = {three(), three()}
local e3 = {three(), 10}
local e4 = {(three())}
print(#e1, #e2, #e3, #e4)
print(table.concat(e2, ","), table.concat(e3, ","))
local e5 = {three(), nil}
print(e5[1], e5[2])
local k = "key"
local dyn = {[k] = "v", [k .. "2"] = "v2", [true] = "yes", [1.5] = "float"}
print(dyn.key, dyn.key2, dyn[true], dyn[1.5])
local empty = {}
print(next(empty), #empty)
local sep = {1; 2; 3}
print(#sep)
local mixed = {1, "two", 3.0, true, {}, print}
print(#mixed, type(mixed[5]), type(mixed[6]), mixed[4])
local big = {}
for i = 1, 50 do big[i] = i * i end
print(#big, big[50])
local fnt = {f = function(x) return x * 2 end, ["g"] = function() return "g" end}
print(fnt.f(21), fnt.g())
local self_ref = {}
self_ref.me = self_ref
print(self_ref.me.me.me == self_ref)
print(({10, 20, 30})[2], ({a = "b"}).a)
print(#{n = 1}, #{[1] = 1, [2] = 2})
local count = 0
for _ in pairs({a = 1, b = 2, 1, 2, [3] = 3}) do count = count + 1 end
print(count)
local q = {"x", "y", z = "w", "v"}
print(q[1], q[2], q[3], q.z)
