-- `table.sort` of SIZE random numbers (copied back into place before each sort).
local n = ...
local orig, work = {}, {}
local x = 12345
for i = 1, n do x = (x * 1103515245 + 12345) % 2147483648; orig[i] = x end
return function()
  table.move(orig, 1, n, 1, work)
  table.sort(work)
end
