-- Statements: multiple assignment, adjustment of value lists, swaps.
local a, b, c = 1, 2
print(a, b, c)
a, b = 10, 20, 30
print(a, b)
a, b = b, a
print(a, b)
local x, y, z = (function() return 1, 2, 3 end)()
print(x, y, z)
x, y, z = (function() return 1, 2, 3 end)(), 9
print(x, y, z)
x, y, z = 0, (function() return 1, 2, 3 end)()
print(x, y, z)
local t = {}
t[1], t[2], t[3] = "a", "b", "c"
print(t[1], t[2], t[3])
t.x, t.y = t.y, t.x
print(t.x, t.y)
local i = 1
i, t[i] = i + 1, 20
print(i, t[1], t[2])
local p, q
p, q = nil
print(p, q)
local m, n = ...
print(m, n)
local u, v, w = 1, nil, 3
print(u, v, w)
g1, g2 = "global1", "global2"
print(g1, g2)
g1, g2 = nil, nil
print(g1, g2)
local s1, s2 = "x"
print(s1, s2)
local arr = {1, 2, 3}
arr[1], arr[2], arr[3] = arr[3], arr[2], arr[1]
print(arr[1], arr[2], arr[3])
local function two() return "r1", "r2" end
local e1, e2, e3, e4 = two(), two()
print(e1, e2, e3, e4)
