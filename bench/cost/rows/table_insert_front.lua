-- `table.insert(t, 1, x)` into a SIZE-element array (every element moves).
local n = ...
local t = {}
for i = 1, n do t[i] = i end
return function()
  table.insert(t, 1, 0)
  t[#t] = nil
end
