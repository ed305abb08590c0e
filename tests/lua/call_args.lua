-- Calls: argument adjustment (missing args are nil, extra args dropped), evaluation order.
local function three(a, b, c) return a, b, c end
print(three(1))
print(three(1, 2, 3, 4, 5))
print(three())
local function count(...) return select("#", ...) end
print(count(1, nil), count(nil), count())
local order = {}
local function mark(x) order[#order + 1] = x return x end
local function ignore(...) end
ignore(mark(1), mark(2), mark(3))
print(table.concat(order, ","))
local function defaults(a, b) a = a or "da" b = b or "db" return a, b end
print(defaults(), defaults("x"), defaults(nil, "y"))
local function named(opts) return opts.x, opts.y end
print(named{x = 1, y = 2})
print(pcall(function() local f f() end))
print(pcall(function() local f = 5 f() end))
print(pcall(function() undefined_fn() end))
print(pcall(function() local t = {} t.method() end))
print(pcall(function() local t = {} t:method() end))
print(pcall(function() ("x")() end))
print(pcall(function() local t = {a = {}} t.a.b() end))
local function pass_through(f, ...) return f(...) end
print(pass_through(math.max, 3, 7, 5))
print(pass_through(string.rep, "ab", 2))
local function many_args(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) return a10 end
print(many_args(1, 2, 3, 4, 5, 6, 7, 8, 9, 10))
local args = {}
for i = 1, 200 do args[i] = i end
print(select("#", table.unpack(args)), math.max(table.unpack(args)))
local function modify(t) t.changed = true end
local tt = {}
modify(tt)
print(tt.changed)
local function modify_num(n) n = n + 1 return n end
local n = 1
print(modify_num(n), n)
print((function(...) return ... end)(1, 2))
print(type(print), print == _G.print)
