-- Program: rational numbers with metamethods (+ - * / unm == < <= tostring) normalized by gcd.
local function gcd(a, b) while b ~= 0 do a, b = b, a % b end return math.abs(a) end
local R = {}
R.__index = R
local function new(n, d)
  d = d or 1
  if d == 0 then error("zero denominator", 2) end
  if d < 0 then n, d = -n, -d end
  local g = gcd(n, d)
  return setmetatable({n = n // g, d = d // g}, R)
end
local function lift(x) if getmetatable(x) == R then return x end return new(x, 1) end
R.__add = function(a, b) a, b = lift(a), lift(b) return new(a.n * b.d + b.n * a.d, a.d * b.d) end
R.__sub = function(a, b) a, b = lift(a), lift(b) return new(a.n * b.d - b.n * a.d, a.d * b.d) end
R.__mul = function(a, b) a, b = lift(a), lift(b) return new(a.n * b.n, a.d * b.d) end
R.__div = function(a, b) a, b = lift(a), lift(b) return new(a.n * b.d, a.d * b.n) end
R.__unm = function(a) return new(-a.n, a.d) end
R.__eq = function(a, b) return a.n == b.n and a.d == b.d end
R.__lt = function(a, b) a, b = lift(a), lift(b) return a.n * b.d < b.n * a.d end
R.__le = function(a, b) a, b = lift(a), lift(b) return a.n * b.d <= b.n * a.d end
R.__tostring = function(a) if a.d == 1 then return tostring(a.n) end return a.n .. "/" .. a.d end
local half, third = new(1, 2), new(1, 3)
print(half + third, half - third, half * third, half / third, -half)
print(half + 1, 2 * third, 1 - half, third / 2)
print(new(2, 4) == half, new(-1, -2) == half, new(1, -2), half < third, third < half, half <= new(2, 4))
print(half < 1, 0 < third, pcall(new, 1, 0))
local sum = new(0)
for i = 1, 10 do sum = sum + new(1, i * (i + 1)) end
print("telescoping sum", sum)
local h = new(0)
for i = 1, 10 do h = h + new(1, i) end
print("H(10) =", h)
local x = new(1)
for _ = 1, 5 do x = (x + new(2) / x) / 2 end
print("sqrt(2) approx", x, x.n / x.d)
