-- Metamethods: __eq only for two tables (or userdata), result converted to boolean, ~= negation.
local calls = 0
local mt = {__eq = function(a, b) calls = calls + 1 return a.v == b.v end}
local a = setmetatable({v = 1}, mt)
local b = setmetatable({v = 1}, mt)
local c = setmetatable({v = 2}, mt)
print(a == b, a == c, a ~= b, a ~= c, calls)
calls = 0
print(a == a, calls)
print(a == 1, a == "x", a == nil, calls)
local plain = {v = 1}
print(a == plain, plain == a, calls)
local other = setmetatable({v = 1}, {__eq = function() return "truthy string" end})
print(other == setmetatable({}, {}), setmetatable({}, {}) == other)
local nilret = setmetatable({}, {__eq = function() return nil end})
print(nilret == {}, nilret ~= {})
local order = {}
local m1 = {__eq = function() order[#order + 1] = "m1" return true end}
local m2 = {__eq = function() order[#order + 1] = "m2" return false end}
local x1, x2 = setmetatable({}, m1), setmetatable({}, m2)
print(x1 == x2, x2 == x1, table.concat(order, ","))
local t = {}
t[a] = "a key"
print(t[b], t[a])
print(rawequal(a, b))
local cmp = setmetatable({}, {__eq = function(p, q) return true end})
local found = 0
for _, v in ipairs({{}, {}, cmp}) do if v == cmp then found = found + 1 end end
print(found)
print(pcall(function() return setmetatable({}, {__eq = function() error("eq failed") end}) == {} end))
local n1 = setmetatable({}, {__eq = function() return 0 end})
print(n1 == {}, not (n1 ~= {}))
local s = setmetatable({}, {__eq = function() return true end})
print(s == "string", "string" == s)
