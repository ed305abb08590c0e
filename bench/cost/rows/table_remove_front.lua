-- `table.remove(t, 1)` from a SIZE-element array (every element moves).
local n = ...
local t = {}
for i = 1, n do t[i] = i end
return function()
  table.remove(t, 1)
  t[#t + 1] = 0
end
