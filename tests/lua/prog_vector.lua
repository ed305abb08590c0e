-- Program: 2D vector type exercising __add __sub __mul __div __unm __eq __lt __le __len __index __tostring __concat __call.
local V = {}
local methods = {}
V.__index = function(v, k)
  if k == "x" then return rawget(v, 1) elseif k == "y" then return rawget(v, 2) end
  return methods[k]
end
local function vec(x, y) return setmetatable({x, y}, V) end
V.__add = function(a, b) return vec(a.x + b.x, a.y + b.y) end
V.__sub = function(a, b) return vec(a.x - b.x, a.y - b.y) end
V.__mul = function(a, b)
  if type(a) == "number" then return vec(a * b.x, a * b.y) end
  if type(b) == "number" then return vec(a.x * b, a.y * b) end
  return a.x * b.x + a.y * b.y
end
V.__div = function(a, k) return vec(a.x / k, a.y / k) end
V.__unm = function(a) return vec(-a.x, -a.y) end
V.__eq = function(a, b) return a.x == b.x and a.y == b.y end
V.__lt = function(a, b) return #a < #b end
V.__le = function(a, b) return #a <= #b end
V.__len = function(a) return math.sqrt(a.x * a.x + a.y * a.y) end
V.__tostring = function(a) return "<" .. a.x .. ", " .. a.y .. ">" end
V.__concat = function(a, b) return tostring(a) .. tostring(b) end
V.__call = function(a, k) return vec(a.x * k, a.y * k) end
function methods.dot(a, b) return a * b end
function methods.perp(a) return vec(-a.y, a.x) end
local a, b = vec(3, 4), vec(1, 2)
print(tostring(a + b), tostring(a - b), a * b, tostring(2 * a), tostring(a * 0.5), tostring(a / 2), tostring(-a))
print(#a, #b < #a, b < a, a <= a, a == vec(3, 4), a ~= b)
print(a .. b, a .. "!", "v=" .. a)
print(tostring(a(3)), a:dot(b), tostring(a:perp()), a:perp() * a)
print(a.x, a.y, a.z, rawlen(a))
local pts = {vec(3, 4), vec(1, 1), vec(0, 2), vec(6, 8)}
table.sort(pts)
local out = {}
for i, p in ipairs(pts) do out[i] = tostring(p) end
print(table.concat(out, " "))
local sum = vec(0, 0)
for _, p in ipairs(pts) do sum = sum + p end
print(tostring(sum), #sum)
