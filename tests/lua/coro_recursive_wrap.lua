-- Coroutines: recursive generators built from nested coroutine.wrap calls (tree flattening, ranges).
local function walk(t)
  return coroutine.wrap(function()
    for _, v in ipairs(t) do
      if type(v) == "table" then
        for x in walk(v) do coroutine.yield(x) end
      else
        coroutine.yield(v)
      end
    end
  end)
end
local out = {}
for v in walk({1, {2, {3, {4, {5}}}}, 6, {{7}}, {}}) do out[#out + 1] = v end
print(table.concat(out, " "))
local function interleave(a, b)
  return coroutine.wrap(function()
    local ga, gb = walk(a), walk(b)
    local da, db = false, false
    while true do
      local x, y
      if not da then x = ga() da = x == nil end
      if not db then y = gb() db = y == nil end
      if da and db and x == nil and y == nil then return end
      if x ~= nil then coroutine.yield(x) end
      if y ~= nil then coroutine.yield(y) end
    end
  end)
end
out = {}
for v in interleave({1, 3, 5, 7}, {2, {4}, 6}) do out[#out + 1] = v end
print(table.concat(out, " "))
local function take(n, gen) return coroutine.wrap(function() for _ = 1, n do local v = gen() if v == nil then return end coroutine.yield(v) end end) end
local function naturals() return coroutine.wrap(function() local i = 0 while true do i = i + 1 coroutine.yield(i) end end) end
local function map(f, gen) return coroutine.wrap(function() for v in gen do coroutine.yield(f(v)) end end) end
local function filter(p, gen) return coroutine.wrap(function() for v in gen do if p(v) then coroutine.yield(v) end end end) end
out = {}
for v in take(8, map(function(x) return x * x end, filter(function(x) return x % 3 == 0 end, naturals()))) do out[#out + 1] = v end
print(table.concat(out, " "))
local function primes()
  return coroutine.wrap(function()
    local found = {}
    for n in naturals() do
      if n > 1 then
        local is = true
        for _, p in ipairs(found) do if p * p > n then break end if n % p == 0 then is = false break end end
        if is then found[#found + 1] = n coroutine.yield(n) end
      end
    end
  end)
end
out = {}
for p in take(15, primes()) do out[#out + 1] = p end
print(table.concat(out, " "))
