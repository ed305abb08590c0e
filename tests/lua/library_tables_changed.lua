-- A program may change the library's tables as any others (each process changes its own
-- copy): every way of writing, from instructions and from the library itself.
math.answer = 42                               -- SETFIELD
string["shout"] = function(s) return s:upper() .. "!" end   -- SETTABLE, string key
table[1] = "one"                               -- SETI
utf8[2.0] = "two"                              -- SETTABLE, float key normalized
rawset(coroutine, "extra", true)
print(math.answer, ("hey"):shout(), table[1], utf8[2], coroutine.extra)
-- The library's functions keep working on a changed table.
print(math.floor(3.7), math.max(1, 5, 3), string.format("%d-%s", 7, "x"))
-- table functions on a library table (its array part grows in the copy).
table.insert(math, "a") table.insert(math, "b") table.insert(math, 1, "z")
print(#math, math[1], math[2], math[3])
print(table.remove(math, 1), #math, table.concat(math, ","))
table.move(math, 1, 2, 3)
print(#math, table.concat(math, ","))
table.sort(math, function(a, b) return a > b end)
print(table.concat(math, ","))
-- Removing a function, then the name is nil, and others are untouched.
string.rep = nil
print(string.rep, ("ab"):upper(), pcall(function() return ("x"):rep(2) end))
-- A metatable on a library table: __index, __newindex, __len, and a weak mode.
setmetatable(utf8, {__index = function(_, k) return "no " .. k end})
print(utf8.nothing, utf8.char(72, 105))
local log = {}
setmetatable(coroutine, {__newindex = function(t, k, v) log[#log + 1] = k rawset(t, k, v) end})
coroutine.fresh = 1
coroutine.extra = 2          -- present: no __newindex
print(table.concat(log, ","), coroutine.fresh, coroutine.extra)
print(getmetatable(utf8) ~= nil, getmetatable(math))
setmetatable(table, {__mode = "k"})
table[{}] = 1
collectgarbage(); collectgarbage()
local n = 0 for k in pairs(table) do if type(k) == "table" then n = n + 1 end end
print(n)
-- Traversal of changed tables sees the new keys in their order, and next works.
local keys = {}
for k, v in pairs(coroutine) do if type(v) ~= "function" then keys[#keys + 1] = k end end
table.sort(keys)
print(table.concat(keys, ","))
print(next({}), type(next(string)))
-- The string metatable is a library table too.
local smt = getmetatable("")
smt.__add = function(a, b) return "added" end
print(pcall(function() return "1" + 2 end))
smt.__index.twice = function(s) return s .. s end
print(("ab"):twice())
