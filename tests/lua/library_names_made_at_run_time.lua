-- Names a program makes at run time are the library's own names: keys built by
-- concatenation, string.rep, string.char or gsub find the library's functions and
-- metamethods, and a library table can be written, read and traversed like any other.
local function made(s) return (s:gsub(".", "%0")) end
print(string[("for") .. "mat"] == string.format, math[made("sqrt")] == math.sqrt)
print(_G[string.char(112, 114, 105, 110, 116)] == print, _G[("x"):rep(0) .. "type"] == type)
local mt = getmetatable("")
print(mt[made("__index")] == string, rawget(mt, "__" .. "index") == string)
local t = setmetatable({}, {[made("__index")] = function(_, k) return k .. "!" end})
print(t.hello, t[made("format")])
-- Writing a library table is a write like any other, and so is reading it back.
string[made("shout")] = function(s) return s:upper() .. "!" end
print(("hi"):shout(), string.shout == string[("sh") .. "out"])
local found = false
for k, v in pairs(string) do if k == "shout" then found = v == string.shout end end
print(found)
collectgarbage(); collectgarbage()
print(string.format("%5.1f", math.pi), ("abc"):rep(2), #string.format("%s", made("pairs")))
local keys = {}
for k in pairs(math) do keys[#keys + 1] = k end
table.sort(keys)
print(#keys, keys[1], keys[#keys])
-- Reading a library table's length or walking it changes nothing another process could see.
print(#string, #math, #utf8, rawlen(coroutine), next(utf8, nil) ~= nil)
