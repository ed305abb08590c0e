-- `table.move` of SIZE elements, overlapping (backwards) and into another table.
local n = ...
local a, b = {}, {}
for i = 1, n + 1 do a[i] = i end
return function()
  table.move(a, 1, n, 2)
  table.move(a, 1, n, 1, b)
end
