-- Sorting: table.sort on integers, floats and strings, with and without a comparator.
local seed = 42
local function rand(n) seed = (seed * 1103515245 + 12345) % 2147483648 return seed % n end
local ROUNDS, N, M = 3, 100000, 30000
if BENCH_SMALL then ROUNDS, N, M = 1, 20000, 6000 end
local checksum = 0
for round = 1, ROUNDS do
  local a = {}
  for i = 1, N do a[i] = rand(1000000) end
  table.sort(a)
  local b = {}
  for i = 1, N do b[i] = rand(1000000) / 7 end
  table.sort(b, function(x, y) return x > y end)
  local s = {}
  for i = 1, M do s[i] = "k" .. rand(100000) end
  table.sort(s)
  local r = {}
  for i = 1, M do r[i] = {key = rand(1000), id = i} end
  table.sort(r, function(x, y) if x.key ~= y.key then return x.key < y.key end return x.id < y.id end)
  checksum = (checksum + a[1] + a[#a] + math.floor(b[1]) + #s[1] + r[1].id + r[#r].id) % 1000000007
end
print("table_sort", checksum)
