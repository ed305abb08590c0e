-- Metamethods: __lt and __le (no __lt fallback for <= in 5.4), swapped operands, results.
local log = {}
local mt = {
  __lt = function(a, b) log[#log + 1] = "lt" return a.v < b.v end,
  __le = function(a, b) log[#log + 1] = "le" return a.v <= b.v end,
}
local function V(v) return setmetatable({v = v}, mt) end
local a, b = V(1), V(2)
print(a < b, a > b, a <= b, a >= b, b <= a)
print(table.concat(log, ","))
local only_lt = {__lt = function(x, y) return x.v < y.v end}
local p, q = setmetatable({v = 1}, only_lt), setmetatable({v = 2}, only_lt)
print(p < q, q > p)
print(pcall(function() return p <= q end))
print(pcall(function() return p >= q end))
local mixed = setmetatable({v = 5}, {__lt = function(x, y)
  local xv = type(x) == "table" and x.v or x
  local yv = type(y) == "table" and y.v or y
  return xv < yv
end})
print(mixed < 10, 3 < mixed, mixed > 4, pcall(function() return mixed < "s" end))
local truthy = setmetatable({}, {__lt = function() return "yes" end, __le = function() return nil end})
print(truthy < truthy, truthy <= truthy)
local o1 = setmetatable({}, {__lt = function() return "first" end})
local o2 = setmetatable({}, {__lt = function() return false end})
print(o1 < o2, o2 < o1)
print(pcall(function() return {} < {} end))
print(pcall(function() return setmetatable({}, {}) <= {} end))
print(pcall(function() return 1 < setmetatable({}, {}) end))
local items = {V(3), V(1), V(2)}
table.sort(items, function(x, y) return x < y end)
print(items[1].v, items[2].v, items[3].v)
local le_only = {__le = function(x, y) return x.v <= y.v end}
local r, s = setmetatable({v = 1}, le_only), setmetatable({v = 1}, le_only)
print(r <= s, r >= s, pcall(function() return r < s end))
print(not (a < b), not (b < a))
local str_lt = setmetatable({}, {__lt = function(x, y) return true end})
print(pcall(function() return "a" < str_lt end))
