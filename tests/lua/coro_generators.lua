-- Coroutines: generators, producer/consumer pipelines, permutations via recursion + yield.
local function producer(items)
  return coroutine.create(function()
    for _, item in ipairs(items) do coroutine.yield(item) end
    return nil
  end)
end
local function filter(src, pred)
  return coroutine.create(function()
    while true do
      local ok, v = coroutine.resume(src)
      if v == nil then return nil end
      if pred(v) then coroutine.yield(v) end
    end
  end)
end
local function consumer(src)
  local out = {}
  while true do
    local ok, v = coroutine.resume(src)
    if v == nil then break end
    out[#out + 1] = v
  end
  return out
end
local evens = consumer(filter(producer({1, 2, 3, 4, 5, 6, 7, 8}), function(v) return v % 2 == 0 end))
print(table.concat(evens, " "))
local function permgen(a, n)
  n = n or #a
  if n <= 1 then coroutine.yield(a) return end
  for i = 1, n do
    a[n], a[i] = a[i], a[n]
    permgen(a, n - 1)
    a[n], a[i] = a[i], a[n]
  end
end
local function permutations(a)
  return coroutine.wrap(function() permgen(a) end)
end
local perms = {}
for p in permutations({"a", "b", "c"}) do perms[#perms + 1] = table.concat(p) end
print(#perms, table.concat(perms, " "))
local function fib_gen()
  return coroutine.wrap(function()
    local a, b = 0, 1
    while true do coroutine.yield(a) a, b = b, a + b end
  end)
end
local g = fib_gen()
local fibs = {}
for i = 1, 15 do fibs[i] = g() end
print(table.concat(fibs, ","))
local function tree_walk(t)
  return coroutine.wrap(function()
    local function walk(node)
      if node == nil then return end
      walk(node.left) coroutine.yield(node.value) walk(node.right)
    end
    walk(t)
  end)
end
local tree = {value = 5, left = {value = 3, left = {value = 1}, right = {value = 4}}, right = {value = 8, left = {value = 7}}}
local vals = {}
for v in tree_walk(tree) do vals[#vals + 1] = v end
print(table.concat(vals, " "))
local function zip(g1, g2)
  return coroutine.wrap(function()
    while true do
      local a, b = g1(), g2()
      if a == nil or b == nil then return end
      coroutine.yield(a, b)
    end
  end)
end
local function count(n) return coroutine.wrap(function() for i = 1, n do coroutine.yield(i) end end) end
for a, b in zip(count(3), count(5)) do print("zip", a, b) end
local chars = coroutine.wrap(function() for c in ("hello"):gmatch(".") do coroutine.yield(c:upper()) end end)
local s = ""
for c in chars do s = s .. c end
print(s)
