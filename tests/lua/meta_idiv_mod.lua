-- Metamethods: __idiv and __mod specifically, along with integer/float semantics they replace.
local calls = {}
local mt = {
  __idiv = function(a, b) calls[#calls + 1] = "idiv" return "idiv result" end,
  __mod = function(a, b) calls[#calls + 1] = "mod" return "mod result" end,
  __div = function(a, b) calls[#calls + 1] = "div" return "div result" end,
}
local o = setmetatable({}, mt)
print(o // 2, 2 // o, o % 3, 3 % o, o / 1)
print(table.concat(calls, ","))
print(pcall(function() return setmetatable({}, {__div = function() return 1 end}) // 2 end))
print(pcall(function() return setmetatable({}, {__idiv = function() return 1 end}) % 2 end))
local Money = {}
Money.__index = Money
local function M(c) return setmetatable({cents = c}, Money) end
Money.__idiv = function(a, b) return M(a.cents // b) end
Money.__mod = function(a, b) return M(a.cents % b) end
Money.__tostring = function(m) return string.format("$%d.%02d", m.cents // 100, m.cents % 100) end
local total = M(1001)
print(tostring(total), tostring(total // 3), tostring(total % 3))
print(7 // 2, -7 // 2, 7 % -2, -7 % 2, 7.0 // 2, -7.0 % 2)
print(pcall(function() return 1 // 0 end))
print(pcall(function() return 1 % 0 end))
print(1 // 0.0, 1 % 0.0 ~= 1 % 0.0)
local zero = setmetatable({}, {__mod = function() return "no error via metamethod" end})
print(zero % 0)
