-- The string metatable is consulted wherever Lua 5.4 consults it: `__index` (method lookup),
-- `__newindex`, `__call`, `__concat`, `__lt`/`__le`, `__close`, `__pairs`, `__metatable`, and
-- `__name` in bad-argument messages (`luaL_typeerror`); never `__len` or `__eq`. Issue 14, family 4.
local mt = getmetatable("")
local function show(...) print(pcall(...)) end
-- __newindex, __call, __concat, __len, __lt, __le, __close, __metatable, __pairs, __eq
mt.__newindex = function(s, k, v) print("set", s, k, v) end
local s = "str"
s.y = 1
s[2] = 3
mt.__newindex = nil
show(function() s.z = 1 end)
mt.__call = function(self, ...) return self .. "!", select('#', ...) end
print(s(1, 2), ("lit")())
mt.__call = nil
show(function() return s() end)
mt.__concat = function(a, b) return "cat(" .. type(a) .. "," .. type(b) .. ")" end
print("a" .. {}, {} .. "b", "a" .. "b", "a" .. 1)
mt.__concat = nil
mt.__len = function() return 99 end
print(#s, #"xyz")
mt.__len = nil
mt.__lt = function(a, b) return true end
mt.__le = function(a, b) return false end
print(pcall(function() return s < 1 end), pcall(function() return 1 <= s end), s < "z", s <= "a")
mt.__lt, mt.__le = nil, nil
show(function() return s < 1 end)
mt.__eq = function() return true end
print(s == "other", s == 1)
mt.__eq = nil
mt.__close = function(v, e) print("closing", v, e) end
do local c <close> = "closeme" end
show(function() local c <close> = "closeme2"; error("boom") end)
mt.__close = nil
show(function() local c <close> = "x" end)
mt.__pairs = function(v) return function(_, k) if not k then return 1, v end end, v, nil end
for k, v in pairs("pq") do print("pairs", k, v) end
mt.__pairs = nil
show(function() for k in pairs("pq") do end end)
mt.__metatable = "locked"
print(getmetatable("abc"))
mt.__metatable = nil
print(getmetatable("abc") == mt)
-- __index
local idx = mt.__index
mt.__index = function(str, k) return "idx:" .. str .. ":" .. tostring(k) end
print(s.foo, s[1], ("q").len)
mt.__index = nil
show(function() return s.foo end)
show(function() return s:upper() end)
show(function() return ("x"):upper() end)
mt.__index = {upper = function(x) return "UP" .. x end}
print(s:upper(), ("v"):upper())
show(function() return s:lower() end)
mt.__index = setmetatable({}, {__index = function(_, k) return function(self) return k .. "/" .. self end end})
print(s:anything(), s.foo(1))
mt.__index = idx
print(s:upper(), s:len())
-- __name
mt.__name = "STR"
show(math.floor, "x")
show(string.rep, "x", "y")
show(setmetatable, "x", {})
show(next, "x")
show(function() local t = "x" return t.y.z end)
show(function() return #nil end)
print(tostring("plain"), string.format("%s", "fmt"))
mt.__name = 42
show(math.floor, "x")
mt.__name = nil
show(math.floor, "x")
getmetatable("").__name = "STR"
show(string.char, "x")
show(string.byte, "a", "x")
show(string.sub, "a", "x")
show(table.concat, {}, "x", "y")
show(table.unpack, {}, "x")
show(utf8.char, "x")
show(utf8.codepoint, "x", "y")
show(math.max, "x")
show(math.abs, "x")
show(math.tointeger, "x")
show(select, "x")
show(tonumber, "z", "x")
show(tonumber, {}, 10)
show(rawlen, "x")
show(rawget, "x", 1)
show(setmetatable, {}, "x")
show(coroutine.resume, "x")
show(coroutine.wrap, "x")
show(string.rep, "x", 2, {})
show(load, "x", "n", "x", "e")
show(next, "x")
show(table.sort, "x")
show(error, "x")
show(assert, false, "x")
show(collectgarbage, "x")
show(xpcall, "x")
show(string.gsub, "x", "x", true)
show(string.find, "x", {})
getmetatable("").__name = nil
