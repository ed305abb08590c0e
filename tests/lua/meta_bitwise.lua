-- Metamethods: bitwise metamethods __band __bor __bxor __shl __shr __bnot, and float fallbacks.
local mt = {}
local function B(v) return setmetatable({v = v}, mt) end
local function val(x) return type(x) == "table" and x.v or x end
for _, op in ipairs({"band", "bor", "bxor", "shl", "shr"}) do
  mt["__" .. op] = function(a, b) return op .. "(" .. tostring(val(a)) .. "," .. tostring(val(b)) .. ")" end
end
mt.__bnot = function(a) return "bnot(" .. tostring(val(a)) .. ")" end
local x = B(6)
print(x & 3, 3 & x)
print(x | 1, 1 | x)
print(x ~ 5, 5 ~ x)
print(x << 2, 2 << x)
print(x >> 1, 1 >> x)
print(~x)
print(x & 1.5, "s" | x)
print(pcall(function() return 1.5 & 1 end))
print(pcall(function() return "a" & 1 end))
print(pcall(function() return {} | 1 end))
local flags = {}
flags.__index = flags
local function F(n) return setmetatable({n = n}, flags) end
flags.__bor = function(a, b) return F(a.n | b.n) end
flags.__band = function(a, b) return F(a.n & b.n) end
flags.__bnot = function(a) return F(~a.n & 0xFF) end
flags.__eq = function(a, b) return a.n == b.n end
local R, W2, X = F(4), F(2), F(1)
local rw = R | W2
print(rw.n, (rw & R).n, (rw & X).n, (~rw).n)
print((R | W2 | X) == F(7), (R | W2) == F(7))
local shl_only = setmetatable({}, {__shl = function(a, b) return "shl with " .. type(a) .. "," .. type(b) end})
print(shl_only << 1, 1 << shl_only)
print(pcall(function() return shl_only >> 1 end))
print(2.0 & 3, 2^53 | 0, pcall(function() return 2^64 & 1 end))
