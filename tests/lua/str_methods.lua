-- Strings: method-call syntax on strings, the string metatable and its __index.
local s = "Hello"
print(s:upper(), s:lower(), s:len(), s:rep(2), s:sub(2, 3), s:byte(1))
print(("%d items"):format(3), ("x"):rep(3, "-"))
print(#s, s:reverse(), s:find("l"), s:match("H(.)"))
print(getmetatable("").__index == string, getmetatable("abc") == getmetatable(""))
print(("abc"):len(), ("abc").len == string.len)
local up = s.upper
print(up(s), up("x"))
print(pcall(function() return s:nonexistent() end))
print(pcall(function() return ("x"):bad() end))
print(pcall(function() local n = 5 return n:upper() end))
print(pcall(function() return (5):type() end))
print(("a,b"):gsub(",", ";"))
local chain = ("  abc  "):gsub("%s", ""):upper():rep(2)
print(chain)
print(s["len"](s), s.len(s))
print(string.format("%s", s:lower()))
local mt = getmetatable("")
print(type(mt), type(mt.__index))
print(rawget(string, "upper") == string.upper)
string.shout = function(x) return x:upper() .. "!" end
print(("hey"):shout())
string.shout = nil
print(pcall(function() return ("hey"):shout() end))
print(pcall(function() return s.x.y end))
print(s.x)
print(("abc"):byte(-1), ("ABC"):lower():byte(1, -1))
local n = 42
print(tostring(n):len(), (tostring(n)):rep(2))
print(#("x"):rep(10), ("x"):rep(10):len())
