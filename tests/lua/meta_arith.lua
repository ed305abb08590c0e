-- Metamethods: every arithmetic metamethod, operand order, numbers and strings on either side.
local mt = {}
local function W(v) return setmetatable({v = v}, mt) end
local function val(x) return type(x) == "table" and x.v or x end
for _, op in ipairs({"add", "sub", "mul", "div", "mod", "pow", "idiv"}) do
  mt["__" .. op] = function(a, b) return op .. "(" .. tostring(val(a)) .. "," .. tostring(val(b)) .. ")" end
end
local x = W(7)
print(x + 1, 1 + x, x + x)
print(x - 2, 2 - x)
print(x * 3, 3 * x)
print(x / 2, 2 / x)
print(x % 4, 4 % x)
print(x ^ 2, 2 ^ x)
print(x // 2, 2 // x)
print(x + "s", "s" + x)
print(x + 1.5, -1.5 * x)
local only_left = setmetatable({}, {__add = function(a, b) return "left handler" end})
print(only_left + 1, 1 + only_left, only_left + {})
print(pcall(function() return {} + 1 end))
print(pcall(function() local t = {} return t * 2 end))
print(pcall(function() local t = {} return 2 - t.x end))
local vec = {}
vec.__index = vec
local function Vec(x, y) return setmetatable({x = x, y = y}, vec) end
vec.__add = function(a, b) return Vec(a.x + b.x, a.y + b.y) end
vec.__mul = function(a, b)
  if type(a) == "number" then return Vec(a * b.x, a * b.y) end
  if type(b) == "number" then return Vec(a.x * b, a.y * b) end
  return a.x * b.x + a.y * b.y
end
vec.__tostring = function(v) return "(" .. v.x .. "," .. v.y .. ")" end
local v1, v2 = Vec(1, 2), Vec(3, 4)
print(tostring(v1 + v2), tostring(2 * v1), tostring(v1 * 3), v1 * v2)
print(tostring(v1 + v2 + v1))
local num = setmetatable({}, {__add = function(a, b) return 100 end})
print(num + 1 + 1)
local cnt = 0
local counting = setmetatable({}, {__sub = function() cnt = cnt + 1 return cnt end})
print(counting - 1, counting - 1, 1 - counting)
print(pcall(function() return "abc" + W(1) end))
print(pcall(function() return 1 + "abc" end))
print(pcall(function() return "10" + "x" end))
