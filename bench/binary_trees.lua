-- Binary trees: allocation of many small tables and recursive traversal.
local function make(d)
  if d == 0 then return {} end
  d = d - 1
  return {make(d), make(d)}
end
local function check(t)
  if t[1] then return 1 + check(t[1]) + check(t[2]) end
  return 1
end
local N = BENCH_SMALL and 10 or 14
local mindepth, maxdepth = 4, N
local total = check(make(maxdepth + 1))
local long = make(maxdepth)
for d = mindepth, maxdepth, 2 do
  local iters = 1 << (maxdepth - d + mindepth)
  local c = 0
  for _ = 1, iters do c = c + check(make(d)) end
  total = total + c
end
total = total + check(long)
print("binary_trees", total)
