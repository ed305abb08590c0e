-- `table.sort` of SIZE random numbers with a Lua comparator.
local n = ...
local orig, work = {}, {}
local x = 12345
for i = 1, n do x = (x * 1103515245 + 12345) % 2147483648; orig[i] = x end
local function gt(a, b) return a > b end
return function()
  table.move(orig, 1, n, 1, work)
  table.sort(work, gt)
end
