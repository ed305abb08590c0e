-- Expressions: string concatenation of strings and numbers, errors, right associativity.
print("a" .. "b", "x" .. 1, 1 .. "x", 1 .. 2)
print(1.5 .. "", -0.0 .. "", 2^63 .. "", 10 // 1 .. "")
print("" .. "", #("" .. ""), ("ab"):rep(3) .. "!")
local parts = {}
for i = 1, 5 do parts[#parts + 1] = i .. "" end
print(table.concat(parts, "-"))
local s = ""
for i = 1, 10 do s = s .. i end
print(s, #s)
print(pcall(function() return "a" .. nil end))
print(pcall(function() return "a" .. {} end))
print(pcall(function() local t = {} return "x" .. t end))
print(pcall(function() local t = {} return t .. "x" end))
print(pcall(function() return "a" .. true end))
print(pcall(function() local g = {} return "x" .. g.f end))
print(pcall(function() return 1 .. print end))
print(pcall(function() return "a" .. undefined_global end))
local long = string.rep("x", 100) .. string.rep("y", 100)
print(#long, long:sub(99, 102))
print("a" .. "b" .. "c" .. "d" .. "e")
local mt = {__concat = function(a, b) return "meta" end}
local obj = setmetatable({}, mt)
print("x" .. "y" .. obj)
print(obj .. "y" .. "z")
print(3 .. 4 .. 5)
print(("x"):rep(3, ",") .. "|")
print("\0" .. "a" == "\0a", #("\0" .. "\0"))
print(math.maxinteger .. "|" .. math.mininteger)
print(0.1 .. "", 1e100 .. "", (1/0) .. "")
