-- Statements: defined evaluation cases of assignment (right side evaluated before assigning).
local a = {1, 2, 3}
local i = 1
i, a[i] = i + 1, "set"
print(i, a[1], a[2])
local x, y = 1, 2
x, y = y, x
print(x, y)
local t = {n = 0}
local function bump() t.n = t.n + 1 return t.n end
local r1, r2, r3 = bump(), bump(), bump()
print(r1, r2, r3)
local log = {}
local function v(name, val) log[#log + 1] = name return val end
local p, q = v("p", 1), v("q", 2)
print(table.concat(log, ","), p, q)
local u = {}
u.a, u.b = 1, u.a
print(u.a, u.b)
local c = 5
local c = c + 1
print(c)
local k = 1
local k2 = k
k = 99
print(k, k2)
local w = {10, 20}
local j = 2
w[j], j = 200, 1
print(w[1], w[2], j)
local s = "old"
local function f() return s end
s = "new"
print(f())
do
  local a1, a2, a3 = 1, 2, 3
  a1, a2, a3 = a3, a1, a2
  print(a1, a2, a3)
end
