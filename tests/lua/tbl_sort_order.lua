-- table.sort as lua5.4 does it, step for step: the comparisons it makes, in order; the reads
-- and writes of a proxy table, in order; where a bad order function is caught; and the
-- positions of errors raised inside a comparator, at each level.
local x = 987
local function rand(n)
  x = (x * 1103515245 + 12345) % 2147483648
  return x % n
end

-- Every comparison, in order, summed into a checksum and counted.
for _, n in ipairs({2, 3, 4, 5, 7, 10, 33, 99, 100, 101, 250, 1000}) do
  local t = {}
  for i = 1, n do t[i] = rand(50) end
  local count, sum = 0, 0
  table.sort(t, function(a, b)
    count = count + 1
    sum = (sum * 31 + a * 7 + b) % 1000000007
    return a < b
  end)
  local ok = true
  for i = 2, n do if t[i - 1] > t[i] then ok = false end end
  print("cmp", n, count, sum, ok, t[1], t[n])
end

-- Already sorted, reversed and constant inputs past the pivot's randomization limit.
for _, make in ipairs({
  function(i) return i end,
  function(i) return -i end,
  function() return 7 end,
}) do
  local t = {}
  for i = 1, 300 do t[i] = make(i) end
  local count = 0
  table.sort(t, function(a, b) count = count + 1 return a < b end)
  print("shape", count, t[1], t[150], t[300])
end

-- A proxy: every read and write goes through its metamethods, logged in order.
do
  local store = {}
  for i = 1, 40 do store[i] = rand(30) end
  local log = {}
  local proxy = setmetatable({}, {
    __index = function(_, k) log[#log + 1] = "r" .. k return store[k] end,
    __newindex = function(_, k, v) log[#log + 1] = "w" .. k store[k] = v end,
    __len = function() return #store end,
  })
  table.sort(proxy)
  print("proxy", #log, table.concat(log, " ", 1, 24))
  print("proxy", table.concat(log, " ", #log - 11, #log))
  print("sorted", table.concat(store, " "))
end

-- `__lt` objects without a comparator, counted.
do
  local lts = 0
  local mt = {__lt = function(a, b) lts = lts + 1 return a.v < b.v end}
  local objs = {}
  for i = 1, 64 do objs[i] = setmetatable({v = rand(20)}, mt) end
  table.sort(objs)
  print("lt", lts, objs[1].v, objs[32].v, objs[64].v)
end

-- Inconsistent order functions: where lua5.4 notices, and what the table holds then.
for _, n in ipairs({2, 3, 4, 5, 8, 16, 64}) do
  local t = {}
  for i = 1, n do t[i] = i end
  local ok, err = pcall(table.sort, t, function() return true end)
  print("always", n, ok, err, t[1], t[n])
  local calls = 0
  ok, err = pcall(table.sort, t, function(a, b) calls = calls + 1 return calls % 3 == 0 end)
  print("every3", n, ok, err, calls)
end

-- Errors: no position for sort's own, the comparator's own at each level.
print(pcall(table.sort, {3, 1, {}}))
print(pcall(table.sort, {3, "x", 1}))
print(pcall(table.sort, {1, nil, 3}, function(a, b) return a < b end))
print(pcall(table.sort, {2, 1}, function(a, b) error("in comparator") end))
print(pcall(table.sort, {2, 1}, function(a, b) error("level 2", 2) end))
print(pcall(function() table.sort({2, 1}, function(a, b) error("level 3", 3) end) end))
print(pcall(table.sort, {2, 1}, function(a, b) return a.x < b end))
print(pcall(table.sort, {2, 1}, string.rep))
print(select("#", table.sort({3, 2, 1}, function(a, b) return a < b end)))

-- A comparator may not yield: the sort is a C call in lua5.4.
local co = coroutine.wrap(function()
  return pcall(table.sort, {3, 2, 1}, function(a, b) coroutine.yield("out") return a < b end)
end)
print(co())

-- Nested sorts inside a comparator.
local outer = {5, 3, 9, 1}
table.sort(outer, function(a, b)
  local inner = {a, b, 4}
  table.sort(inner, function(p, q) return p > q end)
  return a < b
end)
print(table.concat(outer, " "))

-- A comparator that sorts again, without end: the C stack's limit, raised from the sort (a C
-- function in lua5.4), so without a position.
local function again(a, b) table.sort({2, 1}, again) return a < b end
print(pcall(table.sort, {2, 1}, again))
local depth = 0
local function nested(a, b) depth = depth + 1 if depth < 150 then table.sort({2, 1}, nested) end return a < b end
print(pcall(table.sort, {2, 1}, nested), depth)
