-- Coroutines: many resume/yield switches and generator-style iteration.
local function gen(n) return coroutine.wrap(function() for i = 1, n do coroutine.yield(i) end end) end
local GEN, PINGS, MADE = 3000000, 1500000, 60000
if BENCH_SMALL then GEN, PINGS, MADE = 150000, 75000, 3000 end
local total = 0
for v in gen(GEN) do total = total + v end
local co = coroutine.create(function(a) while true do a = coroutine.yield(a * 2) end end)
for i = 1, PINGS do local _, v = coroutine.resume(co, i) total = total + v end
local made = 0
for i = 1, MADE do
  local c = coroutine.create(function(x) coroutine.yield(x) return x + 1 end)
  local _, a = coroutine.resume(c, i)
  local _, b = coroutine.resume(c)
  made = made + a + b
end
print("coroutine_switch", total, made)
