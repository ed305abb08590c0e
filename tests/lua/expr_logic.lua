-- Expressions: and/or/not value semantics and short-circuit evaluation.
print(nil and 1, false and 1, 0 and 1, "" and "x")
print(nil or 1, false or nil, 0 or 1, nil or false)
print(not nil, not false, not 0, not "", not {})
local calls = 0
local function t() calls = calls + 1 return true end
local function f() calls = calls + 1 return false end
print(f() and t(), calls)
calls = 0
print(t() or f(), calls)
calls = 0
print(t() and f() or t(), calls)
local x = nil
print(x and x.field, x == nil or x.field)
local d = {v = 0}
print(d and d.v, d.missing or "default")
local function multi() return 1, 2 end
print(multi() and multi())
print((multi()) or 5)
print(false or multi())
print(nil and error("no"), false or "ok")
local a = 1 and nil
print(a)
print(1 and 2 and 3, nil or false or 0)
print(true and false or "c")
local t2 = {}
t2.count = (t2.count or 0) + 1
t2.count = (t2.count or 0) + 1
print(t2.count)
print(not (1 == 2) and "ne")
print(type(nil and 1), type(false or true))
print(select("#", nil and 1), select("#", multi() or 1))
local function pick(c, a, b) return c and a or b end
print(pick(true, "A", "B"), pick(false, "A", "B"), pick(true, false, "B"))
