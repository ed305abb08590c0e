-- Closures: creation in loops, upvalue access and mutation, higher-order functions.
local function counter() local n = 0 return function() n = n + 1 return n end end
local function map(t, f) local r = {} for i = 1, #t do r[i] = f(t[i]) end return r end
local function compose(f, g) return function(x) return f(g(x)) end end
local total = 0
local ROUNDS = BENCH_SMALL and 150 or 3000
for round = 1, ROUNDS do
  local fs = {}
  for i = 1, 1000 do local k = i fs[i] = function(x) return x + k end end
  for i = 1, 1000 do total = total + fs[i](round) end
  local c = counter()
  for _ = 1, 1000 do c() end
  total = total + c()
  local data = {}
  for i = 1, 500 do data[i] = i end
  local inc2 = compose(function(x) return x + 1 end, function(x) return x * 2 end)
  local mapped = map(data, inc2)
  total = total + mapped[#mapped]
end
print("closures", total)
