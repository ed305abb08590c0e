-- String arithmetic lives in the string metatable (lstrlib's `stringmetamethods`): the
-- interpreter converts no strings, so replacing or removing `__add` and the others changes
-- what `"10" + 1` does. Issue 14, family 3.
local mt = getmetatable("")
local function show(...) print(pcall(...)) end
local events = {"__add", "__sub", "__mul", "__div", "__mod", "__pow", "__idiv", "__unm"}
for _, e in ipairs(events) do print(e, type(mt[e])) end
print(mt.__band, mt.__bor, mt.__bxor, mt.__shl, mt.__shr, mt.__bnot, mt.__concat, mt.__len)

-- The installed metamethods convert numeric strings.
print("10" + 1, 1 + "10", "10" + "1", "3" * "4", "7" // "2", "7" % "4", "2" ^ "3", "1" / "4")
print(-"3", -" 0x10 ", "1e2" + 0, "10" + 1.5, math.type("10" + 1), math.type("3.0" + 1))
print(mt.__add("10", 5), mt.__unm("3"), mt.__unm(4), mt.__idiv("7", "2"), mt.__pow("2", "10"))
-- Called with fewer arguments, `tonum` finds what it pushed.
show(mt.__add)
show(mt.__add, "10")
show(mt.__add, "10", "2", "x")
show(mt.__unm, {})
show(mt.__add, {}, {})
show(mt.__sub, "a", 1)
show(mt.__mul, 1, "a")
show(mt.__mod, "1", "0")
show(mt.__idiv, "1", "0")
print(mt.__div("1", "0"), mt.__mod("5.5", "2"))
-- Errors from the metamethod: `luaL_typename`, no `__name`, no variable name.
local T = setmetatable({}, {__name = "MyType"})
show(function() return T + "abc" end)
show(function() return "abc" + T end)
show(function() return "10" + T end)
show(function() local x = "abc" return x - 1 end)
show(function() return 1 * "abc" end)
show(function() local x = "abc" return -x end)
show(function() return "10" // "0" end)
show(function() return "10" % "0" end)
show(function() return "x" + true end)
show(function() return nil + "x" end)
-- The other operand's metamethod is tried from inside the string one.
local A = setmetatable({}, {__add = function(a, b) return "A.add(" .. type(a) .. "," .. type(b) .. ")" end})
print("10" + A, A + "10", "x" + A, A + "x")
show(function() return "x" + setmetatable({}, {__add = function() error("deep", 2) end}) end)
show(function() return "x" + setmetatable({}, {__add = 3}) end)
-- Bitwise operators never take strings.
show(function() return "3" & 1 end)
show(function() local s = "3" return 1 | s end)
show(function() return ~"7" end)
show(function() return "1" << "2" end)

-- Removed: an error worded by the interpreter, naming the variable.
for _, e in ipairs(events) do mt[e] = nil end
show(function() return "10" + 1 end)
show(function() local s = "10" return s + 1 end)
show(function() local s = "10" return 1 + s end)
show(function() local s = "10" return s * s end)
show(function() local s = "10" return -s end)
show(function() return G_str // 2 end)
G_str = "8"
show(function() return G_str / 2 end)
show(function() local t = {f = "2"} return t.f ^ 2 end)
do local up = "5" show(function() return up % 2 end) end
show(function() return ("5"):rep(1) - 1 end)
show(function() return 1 - {} end)

-- Replaced: the new metamethods are what string arithmetic calls.
mt.__add = function(a, b) return "added(" .. tostring(a) .. "," .. tostring(b) .. ")" end
mt.__unm = function(a, b) return "neg(" .. a .. ")" end
mt.__band = function(a, b) return "band" end
print("10" + 1, 1 + "x", setmetatable({}, {__tostring = function() return "tbl" end}) + "y", -"z", "3" & 1, 3 & "1")
show(function() return "1" - 1 end)
-- Only some replaced.
mt.__add = nil
mt.__sub = function(a, b) return "sub" end
print("a" - "b")
mt.__band = nil
for i, e in ipairs(events) do mt[e] = nil end
print(pcall(function() return "1" + 1 end))
